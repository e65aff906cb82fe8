/**
 * Two managers edit the same product. Different fields: the later save gets VersionConflict and
 * the app merges and retries by itself. The same field: the conflict dialog shows mine / theirs /
 * before per field, and keep mine, keep theirs and a per-field pick each save what they say.
 * Also: creating and editing a customer, and the history of the edited product.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, shot, startWebHarness, type WebHarness } from './helpers/browser.ts';

describeBrowser('browser: edit conflicts', () => {
  let h: WebHarness;
  let a: Page;
  let b: Page;
  let productId: string;

  const row = async () =>
    (
      await h.db.pool.query(
        'SELECT name, description, unit_price::text AS price, version FROM products WHERE id = $1',
        [productId],
      )
    ).rows[0] as { name: string; description: string; price: string; version: number };
  const field = (page: Page, label: string) => page.getByLabel(new RegExp(`^${label}`));
  const save = async (page: Page) => {
    await page.getByRole('button', { name: 'Save', exact: true }).click();
  };
  const settled = (page: Page) =>
    page.getByTestId('pending').filter({ hasText: 'All changes sent' }).waitFor();

  beforeAll(async () => {
    h = await startWebHarness();
    productId = (await h.db.pool.query("SELECT id FROM products WHERE sku = 'SKU-0020'")).rows[0].id;
    [a, b] = await Promise.all([
      h.signedIn('manager.dt@example.com', `#/products/${productId}`),
      h.signedIn('manager.hb@example.com', `#/products/${productId}`),
    ]);
    await field(a, 'Name').waitFor();
    await field(b, 'Name').waitFor();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('merges edits of different fields silently', async () => {
    const before = await row();
    await field(a, 'Name').fill('Merged name');
    await field(b, 'Description').fill('Merged description');
    await save(a);
    await a.getByText('Saved.').waitFor();
    await save(b);
    await b.getByText('Saved.').waitFor();
    await settled(b);
    expect(await b.locator('dialog.conflict[open]').count()).toBe(0);
    expect(await row()).toMatchObject({
      name: 'Merged name',
      description: 'Merged description',
      version: before.version + 2,
    });
    // Both screens converge on the merged row.
    await expect.poll(() => field(a, 'Description').inputValue()).toBe('Merged description');
    await expect.poll(() => field(b, 'Name').inputValue()).toBe('Merged name');
  });

  /** A and B both change name and price; A saves first, so B's save conflicts on both fields. */
  async function collide(round: number) {
    // Both screens must hold the current row (the previous test's last save) before editing:
    // an edit starts from the version its screen shows.
    const { version } = await row();
    for (const page of [a, b]) await page.getByText(new RegExp(`^Version ${version}(\\D|$)`)).waitFor();
    await field(a, 'Name').fill(`A name ${round}`);
    await field(a, 'Unit price').fill(`1${round}.11`);
    await field(b, 'Name').fill(`B name ${round}`);
    await field(b, 'Unit price').fill(`2${round}.22`);
    await save(a);
    await a.getByText('Saved.').waitFor();
    await expect.poll(async () => (await row()).name).toBe(`A name ${round}`);
    await save(b);
    const dialog = b.locator('dialog.conflict[open]');
    await dialog.waitFor();
    await expect.poll(() => dialog.locator('tbody tr').count()).toBe(2);
    const nameRow = dialog.locator('tr[data-field="name"]');
    expect(await nameRow.locator('.mine').innerText()).toBe(`B name ${round}`);
    expect(await nameRow.locator('.theirs').innerText()).toBe(`A name ${round}`);
    return dialog;
  }

  it('same field, keep mine: my values are saved', async () => {
    const base = await row();
    const dialog = await collide(1);
    expect(await dialog.locator('tr[data-field="name"] .base').innerText()).toBe(base.name);
    await shot(b, 'conflict-dialog');
    await dialog.getByRole('button', { name: 'Keep mine' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await settled(b);
    await expect.poll(row).toMatchObject({ name: 'B name 1', price: '21.22' });
  });

  it('same field, keep theirs: their values stay', async () => {
    const dialog = await collide(2);
    const version = (await row()).version;
    await dialog.getByRole('button', { name: 'Keep theirs' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await settled(b);
    // Nothing more is written: their values stay.
    expect(await row()).toMatchObject({ name: 'A name 2', price: '12.11', version });
    await expect.poll(() => field(b, 'Name').inputValue()).toBe('A name 2');
  });

  it('same field, pick per field: my name, their price', async () => {
    const dialog = await collide(3);
    await dialog.locator('tr[data-field="name"]').getByRole('radio').first().check();
    await dialog.locator('tr[data-field="unitPrice"]').getByRole('radio').nth(1).check();
    await dialog.getByRole('button', { name: 'Save my picks' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await settled(b);
    await expect.poll(row).toMatchObject({ name: 'B name 3', price: '13.11' });
  });

  it('lists, creates and edits customers', async () => {
    await a.evaluate(() => {
      location.hash = '#/customers';
    });
    await a.getByRole('button', { name: 'New customer' }).click();
    const create = a.getByRole('form', { name: 'New customer' });
    await create.getByLabel('Name').fill('Zed Browser');
    await create.getByLabel('Phone').fill('+44 1 234');
    await create.getByRole('button', { name: 'Create' }).click();
    await a.getByText('Customer Zed Browser created.').waitFor();
    await a.getByLabel('Search').fill('Zed');
    await a.getByRole('link', { name: 'Edit Zed Browser' }).click();
    await field(a, 'Notes').fill('Prefers email');
    await save(a);
    await a.getByText('Saved.').waitFor();
    const customer = (
      await h.db.pool.query("SELECT phone, notes, version FROM customers WHERE name = 'Zed Browser'")
    ).rows;
    expect(customer).toEqual([{ phone: '+44 1 234', notes: 'Prefers email', version: 2 }]);
  });

  it("shows the product's history: who changed which field, old and new values", async () => {
    await b.evaluate((id) => {
      location.hash = `#/history/PRODUCTS/${id}`;
    }, productId);
    const newest = b.locator('ol.history > li').first();
    await newest.waitFor();
    expect(await newest.innerText()).toContain('manager.hb@example.com');
    const nameChange = newest.locator('tr', { has: b.locator('th', { hasText: /^name$/ }) });
    expect(await nameChange.locator('td').allInnerTexts()).toEqual(['A name 3', 'B name 3']);
    await shot(b, 'history');
    expect(h.consoleErrors).toEqual([]);
  });
});

/**
 * Till conveniences in the browser: the SKU field has focus when the till opens and takes a
 * scanned barcode as well as a SKU; a clerk finds a customer by part of a name, or adds one (name,
 * phone, email) without leaving the till; a stock level's history is titled by the product's name
 * and shows the note typed when receiving.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, shot, startWebHarness, type WebHarness } from './helpers/browser.ts';

describeBrowser('browser: till conveniences', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('focus in the SKU field, a barcode adds its product, a customer is found or added at the till', async () => {
    const sql = h.db.pool;
    const {
      rows: [product],
    } = await sql.query(
      "UPDATE products SET barcode = '4006381333931' WHERE sku = 'SKU-0012' RETURNING id, name",
    );
    const {
      rows: [known],
    } = await sql.query('SELECT id, name FROM customers WHERE active ORDER BY name LIMIT 1');

    const page = await h.signedIn('clerk.dt@example.com', '#/till');
    const field = page.getByLabel('Add by SKU or barcode');
    await field.waitFor();
    await expect.poll(() => field.evaluate((el) => el === document.activeElement)).toBe(true);
    // A scanner types the code and Enter into whatever has focus.
    await page.keyboard.type('4006381333931');
    await page.keyboard.press('Enter');
    await page.getByTestId('till-line').filter({ hasText: product.name }).waitFor();
    await expect.poll(() => field.inputValue()).toBe('');

    // Find an existing customer by part of the name.
    const find = page.getByLabel('Find customer');
    await find.fill(known.name.slice(0, 5));
    await page
      .getByRole('list', { name: 'Matching customers' })
      .getByRole('button', { name: known.name })
      .first()
      .click();
    await page.getByTestId('till-customer').filter({ hasText: known.name }).waitFor();

    // Add a new one without leaving the till.
    await find.fill('Zelda Newcomer');
    await page.getByText('No customer matches “Zelda Newcomer”.').waitFor();
    await page.getByRole('button', { name: 'New customer…' }).click();
    const add = page.getByRole('form', { name: 'Add customer' });
    await expect.poll(() => add.getByLabel('Name').inputValue()).toBe('Zelda Newcomer');
    await add.getByLabel('Phone').fill('+44 1632 960123');
    await add.getByLabel('Email').fill('zelda@example.org');
    await add.getByRole('button', { name: 'Add customer' }).click();
    await page.getByTestId('till-customer').filter({ hasText: 'Zelda Newcomer' }).waitFor();
    expect(page.url()).toContain('#/till');
    await page.getByTestId('till-line').filter({ hasText: product.name }).waitFor();
    const created = await sql.query(
      "SELECT phone, email, updated_by FROM customers WHERE name = 'Zelda Newcomer'",
    );
    expect(created.rows).toEqual([
      { phone: '+44 1632 960123', email: 'zelda@example.org', updated_by: 'clerk.dt@example.com' },
    ]);
    await shot(page, 'till-customer');
    expect(h.consoleErrors).toEqual([]);
  });

  it('a manager sets a barcode in the product editor; a taken one is refused on that field', async () => {
    const sql = h.db.pool;
    const {
      rows: [product],
    } = await sql.query("SELECT id FROM products WHERE sku = 'SKU-0015'");
    const page = await h.signedIn('manager.dt@example.com', `#/products/${product.id}`);
    const field = page.getByLabel(/^Barcode/);
    await field.fill('4006381333931');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    // SKU-0012 has this barcode since the first test.
    await page.getByText(/barcode.*already in use/).waitFor();
    await field.fill('5012345678900');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect
      .poll(
        async () =>
          (await sql.query('SELECT barcode FROM products WHERE id = $1', [product.id])).rows[0].barcode,
      )
      .toBe('5012345678900');
  });

  it("a stock level's history is titled by the product and shows the receipt's note", async () => {
    const sql = h.db.pool;
    const {
      rows: [row],
    } = await sql.query(
      `SELECT s.id, p.name, p.sku FROM stock_levels s JOIN products p ON p.id = s.product_id
         JOIN branches b ON b.id = s.branch_id WHERE b.code = 'DT' AND p.sku = 'SKU-0014'`,
    );
    const page = await h.signedIn('manager.dt@example.com', '#/stock');
    const escaped = row.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await page.getByRole('button', { name: new RegExp(`^Stock actions for ${escaped}`) }).click();
    const dialog = page.locator('dialog.movement[open]');
    await dialog.getByRole('radio', { name: 'Receive', exact: true }).check();
    await dialog.getByRole('spinbutton').fill('4');
    await dialog.getByLabel(/^Note$/).fill('Delivery note 7731 from Acme');
    await dialog.getByRole('button', { name: 'Save', exact: true }).click();
    await dialog.locator('p.ok').waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();

    await page.evaluate((id) => {
      location.hash = `#/history/STOCK_LEVELS/${id}`;
    }, row.id);
    await page.getByRole('heading', { name: `History of ${row.name} (${row.sku})` }).waitFor();
    await page.getByText('Note: Delivery note 7731 from Acme').waitFor();
    expect(await page.getByText(row.id).count()).toBe(0);
  });
});

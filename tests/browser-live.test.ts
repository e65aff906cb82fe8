/**
 * Live updates in the browser: a sale at one till changes the stock row at another within two
 * seconds even on a loaded machine (typically 100-300 ms); a change made with SQL directly shows up in an open page; screenshots of the main views.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, shot, startWebHarness, type WebHarness } from './helpers/browser.ts';

const qty = (page: Page, sku: string) => page.locator(`tr[data-sku="${sku}"] td.qty`);
const qtyNumber = async (page: Page, sku: string) =>
  Number.parseInt((await qty(page, sku).innerText()).trim(), 10);

describeBrowser('browser: live views', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a sale at one till updates the stock row at another live (within two seconds, also under load)', async () => {
    const [seller, watcher, orders] = await Promise.all([
      h.signedIn('clerk.dt@example.com', '#/till', { form: true }),
      h.signedIn('clerk.dt@example.com', '#/stock'),
      h.signedIn('manager.dt@example.com', '#/orders'),
    ]);
    await orders.getByTestId('order-row').first().waitFor();
    const ordersBefore = await orders.getByTestId('order-row').count();
    await qty(watcher, 'SKU-0002').waitFor();
    const before = await qtyNumber(watcher, 'SKU-0002');
    await shot(watcher, 'stock');

    await seller.getByLabel('Add by SKU').fill('SKU-0002');
    await seller.getByRole('button', { name: 'Add', exact: true }).click();
    await seller.getByLabel(/^Quantity of/).fill('2');
    // Paid later, from the orders list (the till takes card payments by default).
    await seller.getByLabel('Pay later').check();
    await expect.poll(() => seller.getByTestId('till-line').count()).toBe(1);
    await shot(seller, 'till');
    const updated = watcher.waitForFunction(
      (want) =>
        document
          .querySelector('tr[data-sku="SKU-0002"] td.qty')
          ?.textContent?.trim()
          .startsWith(String(want)),
      before - 2,
      { polling: 'raf', timeout: 5000 },
    );
    // The clock starts when the sale leaves the till for the server.
    let soldAt = 0;
    seller.on('request', (r) => {
      if (!soldAt && r.method() === 'POST' && (r.postData() ?? '').includes('placeOrder'))
        soldAt = Date.now();
    });
    await seller.getByRole('button', { name: 'Place order' }).click();
    await updated;
    const elapsed = Date.now() - soldAt;
    expect(soldAt).toBeGreaterThan(0);
    await watcher.locator('tr.flash[data-sku="SKU-0002"]').waitFor({ state: 'attached', timeout: 500 });
    await seller.getByText(/Order DT-\d{6} placed/).waitFor();
    expect(await qtyNumber(watcher, 'SKU-0002')).toBe(before - 2);
    // Live, not polled (the setups we replace polled every 3 s or worse). Typically 100-300 ms;
    // 1,015-1,198 ms were seen with two suites' servers and browsers on two loaded cores, so
    // the bound is 2 s. Latency itself is measured by `npm run bench -- latency`, not here.
    expect(elapsed).toBeLessThan(2000);

    // The new order arrives in the orders list by itself; paying it updates its status live.
    const number = (await seller.getByText(/Order DT-\d{6} placed/).innerText()).match(/DT-\d{6}/)?.[0];
    const newRow = orders.locator(`tr[data-number="${number}"]`);
    await newRow.waitFor({ timeout: 3000 });
    expect(await orders.getByTestId('order-row').count()).toBe(ordersBefore + 1);
    await newRow.getByRole('button', { name: 'Pay' }).click();
    await newRow.getByText('paid', { exact: true }).waitFor();

    // More than there is: the till names the item and what is available.
    await seller.getByLabel('Add by SKU').fill('SKU-0002');
    await seller.getByRole('button', { name: 'Add', exact: true }).click();
    await seller.getByLabel(/^Quantity of/).fill('999');
    await seller.getByRole('button', { name: 'Place order' }).click();
    await seller
      .getByTestId('till-line')
      .getByText(`Only ${before - 2} available`)
      .waitFor();
    await seller.getByText(`Claw hammer (Pro) — only ${before - 2} available`).waitFor();
  });

  it('receives, counts, adjusts, sets the reorder level and transfers from the stock view', async () => {
    const page = await h.signedIn('admin@example.com', '#/stock');
    const level = async (code: string) =>
      (
        await h.db.pool.query(
          `SELECT s.quantity, s.reorder_level FROM stock_levels s JOIN branches b ON b.id = s.branch_id
             JOIN products p ON p.id = s.product_id WHERE b.code = $1 AND p.sku = 'SKU-0009'`,
          [code],
        )
      ).rows[0] as { quantity: number; reorder_level: number };
    const hbBefore = (await level('HB')).quantity;
    await page.getByRole('button', { name: /^Stock actions for Tape measure 5m \(Standard\)/ }).click();
    const dialog = page.locator('dialog.movement[open]');
    const act = async (kind: string, amount: string, note?: string) => {
      await dialog.getByRole('radio', { name: kind, exact: true }).check();
      await dialog.getByRole('spinbutton').fill(amount);
      if (note) await dialog.getByLabel(/^(Reason|Note)$/).fill(note);
      await dialog.getByRole('button', { name: 'Save', exact: true }).click();
      await dialog.locator('p.ok').waitFor();
    };
    await act('Count', '50');
    await expect.poll(async () => (await level('DT')).quantity).toBe(50);
    await act('Receive', '5', 'Delivery 42');
    await expect.poll(async () => (await level('DT')).quantity).toBe(55);
    await act('Adjust', '-2', 'Broken');
    await expect.poll(async () => (await level('DT')).quantity).toBe(53);
    await act('Reorder level', '60');
    await expect.poll(async () => (await level('DT')).reorder_level).toBe(60);
    await dialog.getByRole('radio', { name: 'Transfer', exact: true }).check();
    await dialog.getByLabel('To branch').selectOption({ label: 'HB · Harbour' });
    await act('Transfer', '3');
    await expect.poll(async () => (await level('DT')).quantity).toBe(50);
    expect((await level('HB')).quantity).toBe(hbBefore + 3);
    // A second count in the same dialog uses the row's current version.
    await act('Count', '40');
    await expect.poll(async () => (await level('DT')).quantity).toBe(40);
    await dialog.getByRole('button', { name: 'Close' }).click();
    // Quantity 40 at reorder level 60: the row is highlighted as low.
    await page.locator('tr.low[data-sku="SKU-0009"] td.qty').filter({ hasText: '40' }).waitFor();
  });

  it('a change made with SQL directly shows up in an open page, which works by keyboard', async () => {
    const page = await h.signedIn('manager.dt@example.com', '#/stock');
    await qty(page, 'SKU-0005').waitFor();
    await h.db.pool.query(
      `UPDATE stock_levels SET reorder_level = 4321
        WHERE product_id = (SELECT id FROM products WHERE sku = 'SKU-0005')
          AND branch_id = (SELECT id FROM branches WHERE code = 'DT')`,
    );
    await page
      .locator('tr[data-sku="SKU-0005"] td:nth-child(4)')
      .filter({ hasText: '4321' })
      .waitFor({ timeout: 3000 });
    await h.db.pool.query("UPDATE products SET name = 'Renamed in psql' WHERE sku = 'SKU-0005'");
    await page.locator('tr[data-sku="SKU-0005"]').getByText('Renamed in psql').waitFor({ timeout: 3000 });

    // Keyboard only: search, sort, open a row's actions and close them again.
    await page.getByLabel('Search').focus();
    await page.keyboard.type('Renamed');
    await expect.poll(() => page.getByTestId('stock-row').count()).toBe(1);
    await page.getByRole('button', { name: 'Quantity' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('th[aria-sort="ascending"]', { hasText: 'Quantity' }).waitFor();
    await page.getByRole('button', { name: 'Stock actions for Renamed in psql' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.locator('dialog.movement[open]');
    await dialog.waitFor();
    expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('falls back to SSE when WebSockets are unavailable, and still receives changes', async () => {
    const page = await h.signedIn('clerk.hb@example.com', '#/stock', {
      init: () => Object.defineProperty(window, 'WebSocket', { value: undefined, configurable: true }),
    });
    await page.getByTestId('connection').filter({ hasText: 'Connected (SSE)' }).waitFor();
    await qty(page, 'SKU-0007').waitFor();
    const before = await qtyNumber(page, 'SKU-0007');
    await h.db.pool.query(
      `WITH s AS (SELECT s.id FROM stock_levels s JOIN branches b ON b.id = s.branch_id
                   JOIN products p ON p.id = s.product_id WHERE b.code = 'HB' AND p.sku = 'SKU-0007')
       INSERT INTO stock_movements (branch_id, product_id, kind, delta, reason)
       SELECT branch_id, product_id, 'RECEIPT', 5, 'browser test' FROM stock_levels WHERE id = (SELECT id FROM s)`,
    );
    await h.db.pool.query(
      `UPDATE stock_levels SET quantity = quantity + 5
        WHERE product_id = (SELECT id FROM products WHERE sku = 'SKU-0007')
          AND branch_id = (SELECT id FROM branches WHERE code = 'HB')`,
    );
    await expect.poll(() => qtyNumber(page, 'SKU-0007'), { timeout: 3000 }).toBe(before + 5);
  });

  it('shows the dashboard with live figures and the 14-day chart; switches branch; signs out', async () => {
    const [page, phone] = await Promise.all([
      h.signedIn('admin@example.com', '#/dashboard'),
      h.signedIn('clerk.dt@example.com', '#/stock', { viewport: { width: 390, height: 844 } }),
    ]);
    await page.locator('article.card').first().waitFor();
    expect(await page.locator('article.card').count()).toBe(3);
    await page.locator('figure canvas').first().waitFor();
    await expect.poll(() => page.getByTestId('orders-today').first().innerText()).toMatch(/^\d+$/);
    await shot(page, 'dashboard');
    await qty(phone, 'SKU-0001').waitFor();
    await shot(phone, 'stock-phone');
    // Switching branch (an admin may) and signing out.
    await page.getByLabel('Branch').selectOption({ label: 'HB · Harbour' });
    await page.evaluate(() => {
      location.hash = '#/stock';
    });
    await page.locator('tr[data-sku="SKU-0001"]').waitFor();
    expect(
      await page.evaluate(() => JSON.parse(localStorage.getItem('branchline.session') ?? '{}').branchId),
    ).toBe((await h.db.pool.query("SELECT id FROM branches WHERE code = 'HB'")).rows[0].id);
    // On a phone, Sign out is in the top bar's menu.
    await phone.getByRole('button', { name: 'Menu' }).click();
    await phone.getByRole('button', { name: 'Sign out' }).click();
    await phone.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await phone.evaluate(() => localStorage.getItem('branchline.session'))).toBeNull();
    expect(h.consoleErrors).toEqual([]);
  });
});

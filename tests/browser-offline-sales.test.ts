/**
 * Offline sales that mean what the clerk saw (issue 13), in the browser:
 * - a till offline while a manager (second browser) changes a price sells at the price it showed,
 *   dated when it was made, and says so once sent (before: charged the new price, dated on
 *   arrival, nothing said);
 * - offline, the stock view counts the device's queued sale and the till refuses to sell more
 *   (before: the stock view showed the server's last quantity and the till sold it again);
 * - with the server down and the network up, the sale is kept on the device within 2 s (before:
 *   "Placing…" spun for 10 s).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, buildApp } from '../src/app.ts';
import { webDist } from '../src/web/build.ts';
import { describeBrowser, shot, startWebHarness, type WebHarness } from './helpers/browser.ts';
import { testLog } from './helpers/db.ts';
import { freePort } from './helpers/ports.ts';

describeBrowser('browser: offline sales', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const product = async (sku: string) =>
    (await h.db.pool.query('SELECT id, name, unit_price FROM products WHERE sku = $1', [sku])).rows[0] as {
      id: string;
      name: string;
      unit_price: string;
    };
  const stockAt = async (code: string, productId: string) =>
    (
      await h.db.pool.query(
        `SELECT s.quantity FROM stock_levels s JOIN branches b ON b.id = s.branch_id
          WHERE b.code = $1 AND s.product_id = $2`,
        [code, productId],
      )
    ).rows[0].quantity as number;

  it('sells at the price the till showed while a manager changed it, dated when it was made', async () => {
    const p = await product('SKU-0021');
    await h.db.pool.query("UPDATE products SET unit_price = '11.81' WHERE id = $1", [p.id]);
    const [till, manager] = await Promise.all([
      h.signedIn('clerk.hb@example.com', '#/till'),
      h.signedIn('manager.hb@example.com', `#/products/${p.id}`),
    ]);
    await till.getByLabel('Search products').fill('SKU-0021');
    await till.getByRole('button', { name: /11\.81/ }).waitFor();
    await till.waitForTimeout(300);
    await till.context().setOffline(true);
    await till.getByTestId('connection').filter({ hasText: 'Offline' }).waitFor();

    // The manager, online, changes the price.
    const price = manager.getByLabel(/^Unit price/);
    await expect.poll(() => price.inputValue()).toBe('11.81');
    await price.fill('22.22');
    await manager.getByRole('button', { name: 'Save', exact: true }).click();
    await manager.getByText('Saved.').waitFor();
    await expect
      .poll(
        async () => (await h.db.pool.query('SELECT unit_price FROM products WHERE id = $1', [p.id])).rows[0],
      )
      .toEqual({ unit_price: '22.22' });

    // The till still shows 11.81 and sells at it.
    await till.getByRole('button', { name: /11\.81/ }).click();
    await till.getByLabel('Card').check();
    const clicked = Date.now();
    await till.getByRole('button', { name: 'Place order' }).click();
    await till.getByText('Saved on this device').waitFor();
    const outbox = till.locator('#outbox');
    await outbox.getByText('1 waiting to be sent').click();
    await outbox.getByText(/Order of 1 item \(€11\.81\)/).waitFor();
    await till.getByTestId('receipt-number').filter({ hasText: 'Not yet sent' }).waitFor();
    await till.waitForTimeout(1500);
    await till.context().setOffline(false);

    // Once sent: the receipt gets its number and says that the price changed, with both prices.
    await till
      .getByTestId('receipt-number')
      .filter({ hasText: /Order HB-\d{6}/ })
      .waitFor({ timeout: 15_000 });
    const note = till.getByTestId('receipt').getByTestId('price-note');
    await note.waitFor();
    expect(await note.innerText()).toMatch(
      /Price changed while offline[\s\S]*shown €11\.81, now €22\.22; charged €11\.81/,
    );
    await till.getByTestId('price-changed-notice').waitFor();
    await shot(till, 'till-offline-price-changed');

    const { rows } = await h.db.pool.query(
      `SELECT o.number, o.status, o.total, o.sold_at, o.placed_at, i.unit_price, i.shown_unit_price, i.list_unit_price
         FROM orders o JOIN order_items i ON i.order_id = o.id
        WHERE i.product_id = $1 ORDER BY o.created_at DESC LIMIT 1`,
      [p.id],
    );
    expect(rows[0]).toMatchObject({
      status: 'PAID',
      total: '11.81',
      unit_price: '11.81',
      shown_unit_price: '11.81',
      list_unit_price: '22.22',
    });
    // Dated when the clerk pressed the button, not when it reached the server.
    const soldAt = (rows[0].sold_at as Date).getTime();
    expect(Math.abs(soldAt - clicked)).toBeLessThan(1000);
    expect((rows[0].placed_at as Date).getTime() - soldAt).toBeGreaterThan(1400);

    // The order detail shows the note too.
    await till.getByTestId('price-changed-notice').getByRole('link').click();
    await till.getByRole('heading', { name: `Order ${rows[0].number}` }).waitFor();
    expect(await till.getByTestId('price-note').innerText()).toMatch(/shown €11\.81, now €22\.22/);
  });

  it('offline, counts a queued sale in the stock view and refuses to sell more than is left', async () => {
    const p = await product('SKU-0022');
    await h.db.pool.query(
      `UPDATE stock_levels SET quantity = 5 WHERE product_id = $1
          AND branch_id = (SELECT id FROM branches WHERE code = 'NG')`,
      [p.id],
    );
    const page = await h.signedIn('clerk.ng@example.com', '#/stock');
    const cell = page.locator('tr[data-sku="SKU-0022"] td.qty');
    await cell.filter({ hasText: /^5/ }).waitFor();
    await page.evaluate(() => {
      location.hash = '#/till';
    });
    await page.getByLabel('Add by SKU').waitFor();
    await page.waitForTimeout(300);
    await page.context().setOffline(true);
    await page.getByTestId('connection').filter({ hasText: 'Offline' }).waitFor();

    await page.getByLabel('Add by SKU').fill('SKU-0022');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByLabel(/^Quantity of/).fill('3');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByText('Saved on this device').waitFor();

    // The stock view counts it, marked as not yet sent.
    await page.evaluate(() => {
      location.hash = '#/stock';
    });
    await cell.filter({ hasText: /^2/ }).waitFor();
    expect(await cell.getByTestId('queued-stock').innerText()).toContain('-3 not yet sent');
    // So does the orders list.
    await page.evaluate(() => {
      location.hash = '#/orders';
    });
    await page.getByTestId('queued-order').getByText('Not yet sent').waitFor();

    // The till sells the 2 left, not 3.
    await page.evaluate(() => {
      location.hash = '#/till';
    });
    await page.getByLabel('Add by SKU').fill('SKU-0022');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByLabel(/^Quantity of/).fill('3');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByText(/only 2 available \(3 more in sales not yet sent\)/).waitFor();
    await page.getByTestId('till-line').getByText('Only 2 available').waitFor();
    await page.getByTestId('pending').filter({ hasText: '1 edit waiting' }).waitFor();
    await page.getByLabel(/^Quantity of/).fill('2');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByText('Saved on this device').waitFor();
    await page.getByTestId('pending').filter({ hasText: '2 edits waiting' }).waitFor();

    await page.context().setOffline(false);
    await page.getByTestId('pending').filter({ hasText: 'All changes sent' }).waitFor({ timeout: 15_000 });
    expect(await stockAt('NG', p.id)).toBe(0);
    expect(await page.getByTestId('outbox-failed').count()).toBe(0);
  });

  it('keeps the sale on the device within 2 s when the server is down but the network is up', async () => {
    const port = await freePort();
    const serve = () =>
      buildApp({ databaseUrl: h.db.url, log: testLog, poolSize: 4, webDist, feed: { pollMs: 500 } });
    let app: App = serve();
    const { url } = await app.start(port, '127.0.0.1');
    try {
      const context = await h.browser.newContext({ baseURL: url });
      const page = await context.newPage();
      await page.goto('/');
      await page.getByLabel('Email').fill('clerk.dt@example.com');
      await page.getByLabel('Password').fill('branchline');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      await page.evaluate(() => {
        location.hash = '#/till';
      });
      await page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
      await page.getByLabel('Add by SKU').fill('SKU-0023');
      await page.getByRole('button', { name: 'Add', exact: true }).click();
      await page.getByTestId('till-line').waitFor();
      const orders = async () => Number((await h.db.pool.query('SELECT count(*) FROM orders')).rows[0].count);
      const before = await orders();

      await app.stop();
      const started = Date.now();
      await page.getByRole('button', { name: 'Place order' }).click();
      await page.getByText('Saved on this device').waitFor({ timeout: 10_000 });
      const elapsed = Date.now() - started;
      expect(elapsed).toBeLessThan(2000);
      await page.getByTestId('pending').filter({ hasText: '1 edit waiting' }).waitFor();

      // The server comes back: the sale goes in, once.
      app = serve();
      await app.start(port, '127.0.0.1');
      await page.getByTestId('pending').filter({ hasText: 'All changes sent' }).waitFor({ timeout: 20_000 });
      expect(await orders()).toBe(before + 1);
      await page
        .getByTestId('receipt-number')
        .filter({ hasText: /Order DT-\d{6}/ })
        .waitFor({ timeout: 5000 });
      await context.close();
    } finally {
      await app.stop().catch(() => {});
    }
  });
});

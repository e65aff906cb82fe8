/**
 * Offline in the browser: with the connection gone, three edits and a sale are kept on the
 * device, survive a reload (the app shell comes from the service worker's cache, the data from
 * graphcache's IndexedDB), and reach the server once each, in the order they were made, when the
 * connection returns.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, shot, startWebHarness, type WebHarness } from './helpers/browser.ts';

describeBrowser('browser: offline', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('queues three edits and a sale offline, survives a reload, sends each once and in order', async () => {
    const sql = h.db.pool;
    const {
      rows: [product],
    } = await sql.query("SELECT id, version FROM products WHERE sku = 'SKU-0010'");
    const stockOf = async () =>
      (
        await sql.query(
          `SELECT s.quantity FROM stock_levels s JOIN branches b ON b.id = s.branch_id
            WHERE b.code = 'DT' AND s.product_id = $1`,
          [product.id],
        )
      ).rows[0].quantity as number;
    const ordersOf = async () =>
      Number(
        (
          await sql.query(
            "SELECT count(*) FROM orders o JOIN branches b ON b.id = o.branch_id WHERE b.code = 'DT'",
          )
        ).rows[0].count,
      );
    const stockBefore = await stockOf();
    const ordersBefore = await ordersOf();

    const page = await h.signedIn('manager.dt@example.com', '#/till');
    await page.getByLabel('Search products').waitFor();
    await page.locator('body').evaluate(() => navigator.serviceWorker.ready);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    await page.evaluate((id) => {
      location.hash = `#/products/${id}`;
    }, product.id);
    const name = page.getByLabel(/^Name/);
    await name.waitFor();
    // Let graphcache write what it read to IndexedDB before the connection goes.
    await page.waitForTimeout(600);

    await page.context().setOffline(true);
    await h.serveWeb(false);
    await page.getByTestId('connection').filter({ hasText: 'Offline' }).waitFor();

    const save = page.getByRole('button', { name: 'Save', exact: true });
    const saved = page.getByText('Saved on this device');
    await name.fill('Offline edit one');
    await save.click();
    await saved.waitFor();
    await page.getByLabel(/^Description/).fill('Offline edit two');
    await save.click();
    await saved.waitFor();
    await name.fill('Offline edit three');
    await save.click();
    await saved.waitFor();

    await page.evaluate(() => {
      location.hash = '#/till';
    });
    await page.getByLabel('Add by SKU').fill('SKU-0010');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByText('Saved on this device').waitFor();
    await page.getByTestId('pending').filter({ hasText: '4 edits waiting' }).waitFor();

    // Reload with no connection and nothing served: the shell comes from the service worker.
    const response = await page.reload();
    expect(response?.fromServiceWorker()).toBe(true);
    await page.getByTestId('connection').filter({ hasText: 'Offline' }).waitFor();
    await page.getByTestId('pending').filter({ hasText: '4 edits waiting' }).waitFor();
    await page.evaluate((id) => {
      location.hash = `#/products/${id}`;
    }, product.id);
    // The queued values show as pending, from the persisted cache and outbox.
    await expect.poll(() => page.getByLabel(/^Name/).inputValue()).toBe('Offline edit three');

    // Nothing reached the server yet.
    expect(
      (await sql.query('SELECT name, version FROM products WHERE id = $1', [product.id])).rows[0].version,
    ).toBe(product.version);
    expect(await ordersOf()).toBe(ordersBefore);

    await h.serveWeb(true);
    await page.context().setOffline(false);
    await page.getByTestId('pending').filter({ hasText: 'All changes sent' }).waitFor({ timeout: 15_000 });

    const after = (
      await sql.query('SELECT name, description, version FROM products WHERE id = $1', [product.id])
    ).rows[0];
    expect(after).toEqual({
      name: 'Offline edit three',
      description: 'Offline edit two',
      version: product.version + 3,
    });
    expect(await ordersOf()).toBe(ordersBefore + 1);
    expect(await stockOf()).toBe(stockBefore - 1);

    // Once each, in the order they were made: three product updates, then the order.
    const log = await sql.query(
      `SELECT tbl, op, changed FROM change_log
        WHERE (tbl = 'products' AND row_id = $1 AND op = 'U') OR (tbl = 'orders' AND op = 'I')
        ORDER BY xid, id`,
      [product.id],
    );
    const tail = log.rows.slice(-4).map((r) => `${r.tbl}:${r.op}:${(r.changed ?? []).join(',')}`);
    expect(tail).toEqual(['products:U:name', 'products:U:description', 'products:U:name', 'orders:I:']);
    expect(log.rows.filter((r) => r.tbl === 'products')).toHaveLength(3);
    // The browser itself reports the requests that failed while offline; nothing else may.
    expect(
      h.consoleErrors.filter((e) => !/Failed to load resource: net::ERR_INTERNET_DISCONNECTED/.test(e)),
    ).toEqual([]);
  });

  it('shows an offline order that can no longer be fulfilled instead of dropping it', async () => {
    const sql = h.db.pool;
    const orders = async () =>
      Number(
        (
          await sql.query(
            "SELECT count(*) FROM orders o JOIN branches b ON b.id = o.branch_id WHERE b.code = 'NG'",
          )
        ).rows[0].count,
      );
    const before = await orders();
    const page = await h.signedIn('clerk.ng@example.com', '#/till');
    await page.getByLabel('Search products').waitFor();
    await page.waitForTimeout(300);
    await page.context().setOffline(true);
    await page.getByTestId('connection').filter({ hasText: 'Offline' }).waitFor();
    await page.getByLabel('Add by SKU').fill('SKU-0030');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByLabel(/^Quantity of/).fill('3');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByText('Saved on this device').waitFor();

    // Meanwhile the stock is sold elsewhere.
    await sql.query(
      `UPDATE stock_levels SET quantity = 1
        WHERE product_id = (SELECT id FROM products WHERE sku = 'SKU-0030')
          AND branch_id = (SELECT id FROM branches WHERE code = 'NG')`,
    );
    await page.context().setOffline(false);
    const failed = page.getByTestId('outbox-failed');
    await failed.waitFor({ timeout: 15_000 });
    expect(await failed.innerText()).toMatch(/Order of 3 items .* could not be applied/);
    await page.getByTestId('attention').filter({ hasText: '1 needs attention' }).waitFor();
    expect(await orders()).toBe(before);
    await shot(page, 'outbox-failed-order');

    // The user decides: discarding removes it.
    await failed.getByRole('button', { name: 'Discard' }).click();
    await failed.waitFor({ state: 'detached' });
    await page.getByTestId('pending').filter({ hasText: 'All changes sent' }).waitFor();
  });

  it('resumes the change feed from its last cursor after the connection returns', async () => {
    const page = await h.signedIn('clerk.dt@example.com', '#/stock');
    const cell = page.locator('tr[data-sku="SKU-0004"] td.qty');
    await cell.waitFor();
    await page.context().setOffline(true);
    await page.getByTestId('connection').filter({ hasText: 'Offline' }).waitFor();
    // Made while this page cannot hear about it.
    await h.db.pool.query(
      `UPDATE stock_levels SET quantity = 777
        WHERE product_id = (SELECT id FROM products WHERE sku = 'SKU-0004')
          AND branch_id = (SELECT id FROM branches WHERE code = 'DT')`,
    );
    await page.waitForTimeout(500);
    expect(await cell.innerText()).not.toContain('777');
    await page.context().setOffline(false);
    await page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
    // No reload, no navigation: the resumed subscription catches up.
    await cell.filter({ hasText: '777' }).waitFor({ timeout: 5000 });
  });

  it('drops a cursor the server no longer serves, reloads, and follows the feed again', async () => {
    const page = await h.signedIn('clerk.hb@example.com', '#/stock', {
      // A saved cursor from another database (say, before a restore): the server answers CURSOR_EXPIRED.
      init: () => {
        if (!location.protocol.startsWith('http')) return;
        const saved = JSON.parse(localStorage.getItem('branchline.session') ?? 'null');
        if (saved)
          localStorage.setItem(
            `branchline.cursor.${saved.user.id}`,
            '00000000-0000-4000-8000-000000000000:1:1',
          );
      },
    });
    const cell = page.locator('tr[data-sku="SKU-0012"] td.qty');
    await cell.waitFor();
    await expect
      .poll(() =>
        page.evaluate(() => Object.keys(localStorage).find((k) => k.startsWith('branchline.cursor.')) ?? ''),
      )
      .not.toBe('');
    await expect
      .poll(() =>
        page.evaluate(() => {
          const key = Object.keys(localStorage).find((k) => k.startsWith('branchline.cursor.')) as string;
          return localStorage.getItem(key)?.startsWith('00000000-0000-4000-8000-000000000000') ?? true;
        }),
      )
      .toBe(false);
    await h.db.pool.query(
      `UPDATE stock_levels SET quantity = 654
        WHERE product_id = (SELECT id FROM products WHERE sku = 'SKU-0012')
          AND branch_id = (SELECT id FROM branches WHERE code = 'HB')`,
    );
    await cell.filter({ hasText: '654' }).waitFor({ timeout: 5000 });
  });
});

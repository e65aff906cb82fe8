/**
 * A finished sale at the till (issue 13), in the browser: cash with change due and a receipt that
 * prints alone (before: no payment at the till, no receipt, orders stayed "placed"); the order's
 * detail with lines, payments, history and refunds, reached from Orders (before: no view showed an
 * order's lines); Orders in pages with date, status and customer filters (before: the newest 100,
 * status only); CSV exports of stock, orders and order lines as filtered (before: none).
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, shot, startWebHarness, type WebHarness } from './helpers/browser.ts';

describeBrowser('browser: till sales, orders and exports', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const go = (page: Page, hash: string) =>
    page.evaluate((to) => {
      location.hash = to;
    }, hash);

  async function download(page: Page, button: string): Promise<Record<string, string>[]> {
    const [file] = await Promise.all([
      page.waitForEvent('download', { timeout: 15_000 }),
      page.getByRole('button', { name: button }).click(),
    ]);
    const text = await readFile((await file.path()) as string, 'utf8');
    return parse(text, { bom: true, columns: true }) as Record<string, string>[];
  }

  it('takes cash with change due in one step and prints a receipt', async () => {
    await h.db.pool.query("UPDATE products SET unit_price = '12.40' WHERE sku = 'SKU-0031'");
    const page = await h.signedIn('clerk.dt@example.com', '#/till');
    await page.getByLabel('Add by SKU').fill('SKU-0031');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByLabel(/^Quantity of/).fill('2');
    await page.getByLabel('Cash', { exact: true }).check();
    await page.getByLabel('Cash tendered').fill('30');
    await page.getByTestId('change-due').filter({ hasText: '5.20' }).waitFor();
    // Not enough cash is refused before anything is sent.
    await page.getByLabel('Cash tendered').fill('20');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByText('Cash tendered €20.00 is less than the total €24.80.').first().waitFor();
    await page.getByLabel('Cash tendered').fill('30');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByText(/Order DT-\d{6} placed/).waitFor();

    const receipt = page.getByTestId('receipt');
    await receipt
      .getByTestId('receipt-number')
      .filter({ hasText: /Order DT-\d{6}/ })
      .waitFor();
    expect(await receipt.getByTestId('receipt-total').innerText()).toBe('€24.80');
    expect(await receipt.getByTestId('receipt-change').innerText()).toBe('€5.20');
    const text = await receipt.innerText();
    expect(text).toContain('Branchline');
    expect(text).toContain('DT · Downtown');
    expect(text).toMatch(/Cash\s+€30\.00/);
    const number = text.match(/DT-\d{6}/)?.[0];
    const { rows } = await h.db.pool.query(
      `SELECT o.status, p.method, p.amount, p.tendered, p.change FROM orders o JOIN payments p ON p.order_id = o.id
        WHERE o.number = $1`,
      [number],
    );
    expect(rows).toEqual([
      { status: 'PAID', method: 'CASH', amount: '24.80', tendered: '30.00', change: '5.20' },
    ]);

    // Printed, only the receipt shows.
    await page.emulateMedia({ media: 'print' });
    expect(await receipt.isVisible()).toBe(true);
    expect(await page.locator('header.topbar').isVisible()).toBe(false);
    expect(await page.getByRole('button', { name: 'Place order' }).isVisible()).toBe(false);
    expect(await receipt.getByRole('button', { name: 'Print receipt' }).isVisible()).toBe(false);
    await shot(page, 'receipt-print');
    await page.emulateMedia({ media: 'screen' });
  });

  it('shows an order with its lines, payments, history and refund, reached from Orders', async () => {
    const till = await h.signedIn('clerk.hb@example.com', '#/till');
    await till.getByLabel('Add by SKU').fill('SKU-0032');
    await till.getByRole('button', { name: 'Add', exact: true }).click();
    await till.getByLabel('Add by SKU').fill('SKU-0033');
    await till.getByRole('button', { name: 'Add', exact: true }).click();
    await till.getByLabel('Pay later').check();
    await till.getByRole('button', { name: 'Place order' }).click();
    const number = (await till.getByText(/Order HB-\d{6} placed/).innerText()).match(
      /HB-\d{6}/,
    )?.[0] as string;

    const page = await h.signedIn('manager.hb@example.com', '#/orders');
    await page.getByRole('link', { name: number, exact: true }).click();
    await page.getByRole('heading', { name: `Order ${number}` }).waitFor();
    const lines = page.getByTestId('order-lines');
    await lines.getByText('SKU-0032').waitFor();
    await lines.getByText('SKU-0033').waitFor();
    await page.getByText('None yet.').waitFor();
    // Paid from the detail by card.
    await page.getByLabel('Card', { exact: true }).check();
    await page.getByRole('button', { name: /^Pay / }).click();
    await page.locator('.view-head .status').filter({ hasText: 'paid' }).waitFor();
    await page.getByTestId('order-payments').getByText('Card').waitFor();
    // A manager cancels the paid order: the stock comes back and the payment is refunded.
    await page.getByRole('button', { name: 'Cancel and refund' }).click();
    await page.locator('.view-head .status').filter({ hasText: 'cancelled' }).waitFor();
    await page.getByTestId('order-payments').getByText('Refund').waitFor();
    const history = page.getByTestId('order-history');
    await expect.poll(() => history.locator('li').count()).toBeGreaterThanOrEqual(3);
    expect(await history.innerText()).toMatch(/Placed[\s\S]*status[\s\S]*status/);
    await shot(page, 'order-detail');
    await page.getByRole('link', { name: 'Receipt' }).click();
    await page
      .getByTestId('receipt')
      .getByText(/Refund \(Card\)/)
      .waitFor();
  });

  it('pages the orders and filters them by date of sale, status and customer', async () => {
    const sql = h.db.pool;
    const branch = (await sql.query("SELECT id FROM branches WHERE code = 'NG'")).rows[0].id as string;
    const customer = (await sql.query('SELECT id, name FROM customers ORDER BY name LIMIT 1')).rows[0];
    // Enough orders for three pages, a few for the customer, one sold on a day of its own.
    const { rows: products } = await sql.query('SELECT id FROM products ORDER BY sku LIMIT 30');
    const token = await loginToken('manager.ng@example.com');
    const day = new Date(Date.now() - 5 * 86_400_000);
    day.setHours(10, 30, 0, 0);
    for (let i = 0; i < 55; i++) {
      await gql(
        `mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { __typename } }`,
        {
          input: {
            branchId: branch,
            customerId: i % 10 === 0 ? customer.id : null,
            soldAt: i === 7 ? day.toISOString() : null,
            items: [{ productId: products[i % 30].id, quantity: 1 }],
          },
        },
        token,
      );
    }
    const page = await h.signedIn('manager.ng@example.com', '#/orders');
    const rows = page.getByTestId('order-row');
    await expect.poll(() => rows.count()).toBe(25);
    const first = await rows.first().getAttribute('data-number');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Page 2').waitFor();
    await expect.poll(async () => rows.first().getAttribute('data-number')).not.toBe(first);
    expect(await rows.count()).toBe(25);
    await page.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(async () => rows.first().getAttribute('data-number')).toBe(first);

    const expected = async (where: string, args: unknown[]) =>
      (
        await sql.query(
          `SELECT number FROM orders WHERE branch_id = $1 AND ${where} ORDER BY sold_at DESC, id DESC`,
          [branch, ...args],
        )
      ).rows.map((r) => r.number as string);
    const shown = async () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-number')));

    await page.getByLabel('Customer').selectOption(customer.id);
    const mine = await expected('customer_id = $2', [customer.id]);
    await expect.poll(shown).toEqual(mine.slice(0, 25));

    await page.getByLabel('Customer').selectOption('');
    const iso = `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, '0')}-${String(day.getDate()).padStart(2, '0')}`;
    await page.getByLabel('From', { exact: true }).fill(iso);
    await page.getByLabel('To', { exact: true }).fill(iso);
    const start = new Date(day);
    start.setHours(0, 0, 0, 0);
    const onDay = await expected('sold_at >= $2 AND sold_at < $3', [
      start,
      new Date(start.getTime() + 86_400_000),
    ]);
    expect(onDay.length).toBeGreaterThanOrEqual(1);
    await expect.poll(shown).toEqual(onDay.slice(0, 25));

    await page.getByLabel('From', { exact: true }).fill('');
    await page.getByLabel('To', { exact: true }).fill('');
    await page.getByLabel('Status').selectOption('PAID');
    const paid = await expected("status = 'PAID'", []);
    await expect.poll(shown).toEqual(paid.slice(0, 25));
  });

  it('exports stock, orders and order lines as CSV, as filtered', async () => {
    const page = await h.signedIn('manager.ng@example.com', '#/stock');
    await page.getByTestId('stock-row').first().waitFor();
    await page.getByLabel('Search').fill('hammer');
    await expect.poll(() => page.getByTestId('stock-row').count()).toBeLessThan(10);
    const visible = await page
      .getByTestId('stock-row')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-sku')));
    const stock = await download(page, 'Export CSV');
    expect(stock.map((r) => r.SKU)).toEqual(visible);
    expect(Object.keys(stock[0])).toEqual([
      'SKU',
      'Product',
      'Quantity',
      'Not yet sent',
      'Reorder level',
      'Low',
      'Unit price',
      'Value',
    ]);

    await go(page, '#/orders');
    await page.getByLabel('Status').selectOption('PLACED');
    await page.getByTestId('order-row').first().waitFor();
    const orders = await download(page, 'Export orders (CSV)');
    const { rows } = await h.db.pool.query(
      `SELECT o.number, o.total FROM orders o JOIN branches b ON b.id = o.branch_id
        WHERE b.code = 'NG' AND o.status = 'PLACED' ORDER BY o.sold_at DESC, o.id DESC`,
    );
    // Every page, not only the one on screen.
    expect(rows.length).toBeGreaterThan(25);
    expect(orders.map((o) => [o.Number, o.Total])).toEqual(rows.map((r) => [r.number, r.total]));
    expect(orders.every((o) => o.Status === 'PLACED')).toBe(true);

    const lines = await download(page, 'Export order lines (CSV)');
    const { rows: items } = await h.db.pool.query(
      `SELECT count(*)::int AS n FROM order_items i JOIN orders o ON o.id = i.order_id JOIN branches b ON b.id = o.branch_id
        WHERE b.code = 'NG' AND o.status = 'PLACED'`,
    );
    expect(lines).toHaveLength(items[0].n);
    expect(Object.keys(lines[0])).toContain('Shown price');
    expect(new Set(lines.map((l) => l.Number))).toEqual(new Set(rows.map((r) => r.number)));
  });

  async function gql(query: string, variables: Record<string, unknown>, token?: string) {
    const res = await fetch(`${h.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return ((await res.json()) as { data: any }).data;
  }

  async function loginToken(email: string): Promise<string> {
    const data = await gql(
      `mutation ($e: String!, $p: String!) { login(email: $e, password: $p) {
        ... on MutationLoginSuccess { data { token } } } }`,
      { e: email, p: 'branchline' },
    );
    return data.login.data.token as string;
  }
});

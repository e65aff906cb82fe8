/**
 * Stock between branches in the browser, two managers side by side: Downtown's manager asks
 * Harbour for stock, Harbour's manager sees the request arrive live and approves part of it
 * (shipped: in transit), Downtown sees it in transit live and confirms receipt, Harbour sees it
 * received. The ledger moves once at each end.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, shot, startWebHarness, type WebHarness } from './helpers/browser.ts';

describeBrowser('browser: transfers between branches', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('request, approve part, in transit, receive: across two managers, live on both screens', async () => {
    const sql = h.db.pool;
    const {
      rows: [product],
    } = await sql.query("SELECT id, name FROM products WHERE sku = 'SKU-0013'");
    const level = async (code: string) =>
      Number(
        (
          await sql.query(
            `SELECT coalesce((SELECT s.quantity FROM stock_levels s JOIN branches b ON b.id = s.branch_id
                WHERE b.code = $1 AND s.product_id = $2), 0) AS q`,
            [code, product.id],
          )
        ).rows[0].q,
      );
    expect(await level('HB')).toBeGreaterThanOrEqual(5);
    const [hbBefore, dtBefore] = [await level('HB'), await level('DT')];

    const [asker, asked, dtStock] = await Promise.all([
      h.signedIn('manager.dt@example.com', '#/transfers'),
      h.signedIn('manager.hb@example.com', '#/transfers'),
      h.signedIn('clerk.dt@example.com', '#/stock'),
    ]);
    await asked.getByText('No other branch has asked for stock.').waitFor();
    const dtRow = dtStock.locator('tr[data-sku="SKU-0013"] td.qty');
    await dtRow.waitFor();
    expect(await dtRow.getByTestId('in-transit').count()).toBe(0);

    const form = asker.getByRole('form', { name: 'Ask another branch' });
    await form.getByLabel('From branch').selectOption({ label: 'HB · Harbour' });
    await form.getByLabel('Product').selectOption(product.id);
    await form.getByLabel('Quantity').fill('7');
    await form.getByLabel('Note').fill('Weekend rush');
    await form.getByRole('button', { name: 'Ask for stock' }).click();
    await asker.getByText(`Asked Harbour for 7 × ${product.name}.`).waitFor();

    // Harbour's manager sees it arrive without reloading.
    const incoming = asked.getByRole('listitem', { name: `Downtown (DT) asks for ${product.name}` });
    await incoming.getByTestId('request-status').filter({ hasText: 'Requested' }).waitFor({ timeout: 5000 });
    await incoming.getByText('“Weekend rush”').waitFor();
    await incoming.getByLabel('Ship').fill('5');
    await incoming.getByRole('button', { name: 'Approve' }).click();
    await incoming.getByTestId('request-status').filter({ hasText: 'In transit' }).waitFor();
    await expect.poll(() => level('HB')).toBe(hbBefore - 5);
    expect(await level('DT')).toBe(dtBefore);

    // Downtown sees it in transit, live, and confirms receipt.
    const outgoing = asker.getByRole('listitem', { name: `Request of ${product.name} from Harbour (HB)` });
    await outgoing.getByText('5 in transit').waitFor({ timeout: 5000 });
    // Downtown's stock view shows what is on its way, live.
    await dtRow.getByTestId('in-transit').filter({ hasText: '(+5 in transit)' }).waitFor({ timeout: 5000 });
    await shot(asker, 'transfers');
    await outgoing.getByRole('button', { name: 'Confirm receipt' }).click();
    await outgoing.getByTestId('request-status').filter({ hasText: 'Received' }).waitFor();
    await expect.poll(() => level('DT')).toBe(dtBefore + 5);
    await dtRow.filter({ hasText: String(dtBefore + 5) }).waitFor();
    await expect.poll(() => dtRow.getByTestId('in-transit').count()).toBe(0);
    expect(await level('HB')).toBe(hbBefore - 5);
    await incoming.getByTestId('request-status').filter({ hasText: 'Received' }).waitFor({ timeout: 5000 });

    const moves = await sql.query(
      `SELECT b.code, m.kind, m.delta FROM stock_movements m JOIN branches b ON b.id = m.branch_id
        WHERE m.transfer_id IS NOT NULL AND m.product_id = $1 ORDER BY m.created_at`,
      [product.id],
    );
    expect(moves.rows).toEqual([
      { code: 'HB', kind: 'TRANSFER_OUT', delta: -5 },
      { code: 'DT', kind: 'TRANSFER_IN', delta: 5 },
    ]);
    // Every step is in the request's history, titled by the product.
    await outgoing.getByRole('link', { name: `History of the request for ${product.name}` }).click();
    await asker.getByRole('heading', { name: `History of ${product.name} (SKU-0013)` }).waitFor();
    await expect.poll(() => asker.locator('ol.history > li').count()).toBe(3);
    expect(h.consoleErrors).toEqual([]);
  });
  it('a request made offline is kept on the device and reaches the other branch once back online', async () => {
    const sql = h.db.pool;
    const {
      rows: [product],
    } = await sql.query("SELECT id, name FROM products WHERE sku = 'SKU-0016'");
    const count = async () =>
      Number(
        (await sql.query('SELECT count(*) FROM stock_requests WHERE product_id = $1', [product.id])).rows[0]
          .count,
      );
    const [asker, asked] = await Promise.all([
      h.signedIn('manager.dt@example.com', '#/transfers'),
      h.signedIn('manager.hb@example.com', '#/transfers'),
    ]);
    const form = asker.getByRole('form', { name: 'Ask another branch' });
    await form.getByLabel('Product').locator(`option[value="${product.id}"]`).waitFor({ state: 'attached' });
    await asker.context().setOffline(true);
    await asker.getByTestId('connection').filter({ hasText: 'Offline' }).waitFor();
    await form.getByLabel('From branch').selectOption({ label: 'HB · Harbour' });
    await form.getByLabel('Product').selectOption(product.id);
    await form.getByLabel('Quantity').fill('2');
    await form.getByRole('button', { name: 'Ask for stock' }).click();
    await asker.getByText('Saved on this device').waitFor();
    expect(await count()).toBe(0);

    await asker.context().setOffline(false);
    await asker.getByTestId('pending').filter({ hasText: 'All changes sent' }).waitFor({ timeout: 15_000 });
    await expect.poll(count).toBe(1);
    await asked
      .getByRole('listitem', { name: `Downtown (DT) asks for ${product.name}` })
      .getByTestId('request-status')
      .filter({ hasText: 'Requested' })
      .waitFor({ timeout: 5000 });
  });
});

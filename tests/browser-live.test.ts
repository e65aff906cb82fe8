/**
 * Live updates in the browser: a sale at one till changes the stock row at another within a
 * second; a change made with SQL directly shows up in an open page; screenshots of the main views.
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

  it('a sale at one till updates the stock row at another within one second', async () => {
    const seller = await h.signedIn('clerk.dt@example.com', '#/till');
    const watcher = await h.signedIn('clerk.dt@example.com', '#/stock');
    await qty(watcher, 'SKU-0002').waitFor();
    const before = await qtyNumber(watcher, 'SKU-0002');
    await shot(watcher, 'stock');

    await seller.getByLabel('Add by SKU').fill('SKU-0002');
    await seller.getByRole('button', { name: 'Add', exact: true }).click();
    await seller.getByLabel(/^Quantity of/).fill('2');
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
    const soldAt = Date.now();
    await seller.getByRole('button', { name: 'Place order' }).click();
    await updated;
    const elapsed = Date.now() - soldAt;
    await watcher.locator('tr.flash[data-sku="SKU-0002"]').waitFor({ state: 'attached', timeout: 500 });
    await seller.getByText(/Order DT-\d{6} placed/).waitFor();
    expect(await qtyNumber(watcher, 'SKU-0002')).toBe(before - 2);
    expect(elapsed).toBeLessThan(1000);
  });

  it('a change made with SQL directly shows up in an open page', async () => {
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
  });

  it('shows the dashboard with live figures and the 14-day chart', async () => {
    const page = await h.signedIn('admin@example.com', '#/dashboard');
    await page.locator('article.card').first().waitFor();
    expect(await page.locator('article.card').count()).toBe(3);
    await page.locator('figure svg').first().waitFor();
    await expect.poll(() => page.getByTestId('orders-today').first().innerText()).toMatch(/^\d+$/);
    await shot(page, 'dashboard');
    const phone = await h.signedIn('clerk.dt@example.com', '#/stock', { width: 390, height: 844 });
    await qty(phone, 'SKU-0001').waitFor();
    await shot(phone, 'stock-phone');
    expect(h.consoleErrors).toEqual([]);
  });
});

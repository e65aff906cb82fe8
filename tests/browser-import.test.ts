/**
 * The web upload: an admin picks CSV exports, sees the dry run (counts and skipped rows with
 * reasons; nothing changed), confirms, watches the progress to the end, and a manager's open
 * stock screen shows the imported stock arrive by itself.
 */
import iconv from 'iconv-lite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, shot, startWebHarness, type WebHarness } from './helpers/browser.ts';
import { checksumAll, PRODUCTS_CSV, STOCK_CSV } from './helpers/import.ts';

describeBrowser('browser: import', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('uploads CSV files, previews, imports with progress; another screen sees the stock arrive', {
    timeout: 60_000,
  }, async () => {
    const [admin, watcher] = await Promise.all([
      h.signedIn('admin@example.com', '#/import'),
      h.signedIn('manager.dt@example.com', '#/stock'),
    ]);
    await watcher.locator('tr[data-sku="SKU-0001"]').waitFor();
    await admin.getByRole('link', { name: 'Import' }).waitFor();
    const before = await checksumAll(h.db.pool, ['api_tokens']);

    await admin.getByLabel('CSV files').setInputFiles([
      { name: 'Artikel.csv', mimeType: 'text/csv', buffer: iconv.encode(PRODUCTS_CSV, 'windows-1252') },
      { name: 'Lagerbestand.csv', mimeType: 'text/csv', buffer: iconv.encode(STOCK_CSV, 'windows-1252') },
    ]);
    await admin.getByRole('button', { name: 'Preview' }).click();
    const counts = admin.getByTestId('import-counts');
    await counts.locator('tr[data-record="products"]').waitFor();
    expect(await counts.locator('tr[data-record="products"] td').allInnerTexts()).toEqual([
      '4',
      '0',
      '0',
      '1',
    ]);
    await admin.getByTestId('import-skipped').getByText('blank name').waitFor();
    await admin.getByTestId('import-skipped').getByText('unknown product SKU CSV-9').waitFor();
    expect(await checksumAll(h.db.pool, ['api_tokens'])).toEqual(before);
    await shot(admin, 'import-preview');

    await admin.getByRole('button', { name: 'Import', exact: true }).click();
    await admin.getByText('Import finished.').waitFor({ timeout: 20_000 });
    await admin.getByRole('heading', { name: 'Imported' }).waitFor();
    expect(await counts.locator('tr[data-record="stock"] td').allInnerTexts()).toEqual(['2', '0', '0', '2']);
    await shot(admin, 'import-done');

    // The manager's stock screen (DT) shows the imported row without reloading.
    await watcher.locator('tr[data-sku="CSV-1"] td.qty').filter({ hasText: '12' }).waitFor({ timeout: 5000 });
    const rows = await h.db.pool.query("SELECT count(*)::int AS n FROM products WHERE sku LIKE 'CSV-%'");
    expect(rows.rows[0].n).toBe(4);
    expect(h.consoleErrors).toEqual([]);
  });
});

/**
 * The web app's import over GraphQL (the real server): admins only; previewImport is a dry run
 * that changes nothing and suggests the mapping; startImport runs what was previewed in the
 * background (progress and report in importRun), refuses a stale preview, and its changes reach a
 * live subscriber exactly once; importing the same files again changes nothing.
 */
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { tokenFor, waitFor } from './helpers/feed.ts';
import { checksumAll, PRODUCTS_CSV, STOCK_CSV, watchChanges } from './helpers/import.ts';

let t: TestApp;
let admin: string;
let manager: string;

const PREVIEW = `mutation ($input: ImportInput!) {
  previewImport(input: $input) {
    __typename
    ... on MutationPreviewImportSuccess { data { counts { record created updated unchanged skipped } skipped { record location key reason } conflicts report mapping planHash } }
    ... on Error { message }
  }
}`;
const START = `mutation ($input: ImportInput!, $planHash: String!, $key: String) {
  startImport(input: $input, planHash: $planHash, idempotencyKey: $key) {
    __typename
    ... on MutationStartImportSuccess { data { id status total } }
    ... on Error { message }
  }
}`;
const RUN = `query ($id: ID!) { importRun(id: $id) { id status done total counts { record created updated unchanged skipped } report error actor finishedAt } }`;

const files = [
  { name: 'Artikel.csv', contentBase64: iconv.encode(PRODUCTS_CSV, 'windows-1252').toString('base64') },
  { name: 'Lagerbestand.csv', contentBase64: iconv.encode(STOCK_CSV, 'windows-1252').toString('base64') },
];

beforeAll(async () => {
  t = await startTestApp({ seed: true });
  admin = await tokenFor(t.db.pool, 'admin@example.com');
  manager = await tokenFor(t.db.pool, 'manager.dt@example.com');
  await t.app.services.feed.ready();
});

afterAll(async () => {
  await t?.stop();
});

async function finished(id: string) {
  let run: any;
  await waitFor(
    async () => {
      run = (await t.gql(RUN, { id }, admin)).data?.importRun;
      return run?.status !== 'running';
    },
    20_000,
    'the import run to finish',
  );
  return run;
}

describe('import over GraphQL (the web upload)', () => {
  it('is for admins only', async () => {
    const res = await t.gql(PREVIEW, { input: { files } }, manager);
    expect(res.data?.previewImport).toMatchObject({ __typename: 'Forbidden' });
    const run = await t.gql(RUN, { id: '00000000-0000-0000-0000-000000000000' }, manager);
    expect(run.data?.importRun).toBeNull();
  });

  it('previews, imports what was previewed with progress, refuses a stale preview, re-imports nothing', async () => {
    // Every table but api_tokens, whose last_used_at each authenticated request moves.
    const sums = (except: string[] = []) => checksumAll(t.db.pool, ['api_tokens', ...except]);
    const before = await sums();
    const preview = await t.gql(PREVIEW, { input: { files } }, admin);
    expect(preview.errors).toBeUndefined();
    const p = preview.data?.previewImport.data;
    expect(await sums()).toEqual(before);
    expect(p.counts).toEqual([
      { record: 'products', created: 4, updated: 0, unchanged: 0, skipped: 1 },
      { record: 'stock', created: 2, updated: 0, unchanged: 0, skipped: 2 },
    ]);
    expect(p.skipped).toContainEqual({
      record: 'products',
      location: 'Artikel.csv:line 5',
      key: 'CSV-4',
      reason: 'blank name',
    });
    expect(p.mapping.records.products.fields).toMatchObject({ sku: 'Artikelnummer', unitPrice: 'Preis' });
    expect(p.report).toContain('(dry run: nothing was changed)');

    const watcher = await watchChanges(t);
    const start = await t.gql(
      START,
      { input: { files, mapping: p.mapping }, planHash: p.planHash, key: 'import-1' },
      admin,
    );
    const started = start.data?.startImport;
    expect(started).toMatchObject({ __typename: 'MutationStartImportSuccess', data: { total: 6 } });
    const run = await finished(started.data.id);
    expect(run).toMatchObject({ status: 'done', done: 6, total: 6, error: null, actor: 'admin@example.com' });
    expect(run.counts).toEqual(p.counts);
    expect(run.report).toContain('| products | 4 | 0 | 0 | 1 |');
    await watcher.expectExactlyOnce();
    await watcher.stop();

    // A repeat with the same idempotencyKey (the first response was lost) returns the same run and
    // starts nothing; the key with other arguments is refused.
    const repeat = await t.gql(
      START,
      { input: { files, mapping: p.mapping }, planHash: p.planHash, key: 'import-1' },
      admin,
    );
    expect(repeat.data?.startImport.data).toMatchObject({ id: started.data.id, status: 'done' });
    const reused = await t.gql(START, { input: { files }, planHash: 'other', key: 'import-1' }, admin);
    expect(reused.data?.startImport.__typename).toBe('IdempotencyKeyReused');
    expect((await t.db.pool.query('SELECT count(*)::int AS n FROM import_runs')).rows[0].n).toBe(1);
    const stock = await t.db.pool.query(
      `SELECT s.quantity, m.kind FROM stock_levels s JOIN products p ON p.id = s.product_id
         JOIN stock_movements m ON m.product_id = s.product_id AND m.branch_id = s.branch_id WHERE p.sku = 'CSV-1'`,
    );
    expect(stock.rows).toEqual([{ quantity: 12, kind: 'IMPORT' }]);

    // The preview is stale now (everything exists): refused, nothing written.
    const after = await sums();
    const stale = await t.gql(START, { input: { files, mapping: p.mapping }, planHash: p.planHash }, admin);
    expect(stale.data?.startImport).toMatchObject({
      __typename: 'ValidationError',
      message: 'The data changed since the preview: preview again before importing',
    });
    expect(await sums()).toEqual(after);

    // Previewed again and run: it changes nothing (only its own run record is added).
    const again = (await t.gql(PREVIEW, { input: { files, mapping: p.mapping } }, admin)).data?.previewImport
      .data;
    expect(again.counts[0]).toEqual({ record: 'products', created: 0, updated: 0, unchanged: 4, skipped: 1 });
    const second = (
      await t.gql(START, { input: { files, mapping: p.mapping }, planHash: again.planHash }, admin)
    ).data?.startImport.data;
    expect(await finished(second.id)).toMatchObject({ status: 'done', total: 0 });
    expect(await sums(['import_runs'])).toEqual(
      Object.fromEntries(Object.entries(after).filter(([k]) => k !== 'import_runs')),
    );
  });

  it('answers a bad mapping or file with a ValidationError naming it', async () => {
    const bad = await t.gql(
      PREVIEW,
      { input: { files, mapping: { records: { products: { from: 'nope', fields: {} } } } } },
      admin,
    );
    expect(bad.data?.previewImport.__typename).toBe('ValidationError');
    expect(bad.data?.previewImport.message).toContain('no source has a table "nope"');
    const notBase64 = await t.gql(
      PREVIEW,
      { input: { files: [{ name: 'x.csv', contentBase64: '%%%' }] } },
      admin,
    );
    expect(notBase64.data?.previewImport.__typename).toBe('ValidationError');
  });
});

/**
 * The benchmark harness on a tiny workload (seconds, not a benchmark): a Branchline server and a
 * subscriber worker in child processes, a phase of writes checked against change_log, and proof
 * that the correctness check fails when a subscriber misses a change.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BenchDatabase, benchDatabaseAt } from '../bench/lib/cluster.ts';
import { Seqs } from '../bench/lib/load.ts';
import { Results } from '../bench/lib/report.ts';
import { quantile } from '../bench/lib/stats.ts';
import { System } from '../bench/lib/systems.ts';
import { feedWriter } from '../bench/lib/writers.ts';
import { createTestDatabase } from './helpers/db.ts';

let db: BenchDatabase;
let sys: System;

beforeAll(async () => {
  const test = await createTestDatabase();
  db = await benchDatabaseAt(test.url, () => test.drop());
  sys = await System.start('branchline', db);
}, 60_000);

afterAll(async () => {
  await sys?.stop();
  await db?.stop();
});

it('measures a phase and its correctness check passes, then fails on a missed change', async () => {
  const seqs = new Seqs();
  const results = new Results();
  const before = await db.currentCursor();
  await sys.writeRows(db.productIds.slice(0, 1), [seqs.take()]); // before anyone subscribed
  await sys.connect(3);

  const writer = await feedWriter(sys, db, seqs);
  await sys.begin(seqs);
  for (let i = 0; i < 5; i++) await writer.write();
  writer.close();
  const ok = await sys.end(seqs, 10_000);
  expect(ok).toMatchObject({ subscribers: 3, expected: 5, missing: 0, duplicates: 0, outOfOrder: 0 });
  expect(ok.hist.count).toBe(15);
  expect(quantile(ok.hist, 0.5)).toBeGreaterThan(0);
  expect(results.check('smoke', 'branchline', 'ok', ok)).toBe(true);

  // A phase that expects every change since before the subscribers existed: each of them
  // "missed" the first change and (recordings are reset per phase) the 5 of the previous phase.
  await sys.begin(seqs, before);
  const again = await feedWriter(sys, db, seqs);
  for (let i = 0; i < 2; i++) await again.write();
  again.close();
  expect(await sys.waitForEach(2, 10_000)).toBe(true);
  const gap = await sys.end(seqs, 0);
  expect(gap).toMatchObject({ expected: 8, missing: 3 * 6, duplicates: 0 });
  expect(results.check('smoke', 'branchline', 'gap', gap)).toBe(false);
  expect(results.failed).toHaveLength(1);
}, 30_000);

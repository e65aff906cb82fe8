/**
 * Gap-free under chaos: 8 concurrent writers (API mutations and plain SQL; fast, held-open and
 * rolled-back transactions)
 * commit at least 5,000 changes while the listener's backend is killed every 200-400 ms and
 * subscribers drop and resume from their last cursor at random. Every subscriber must end with
 * exactly the committed changes, in the same order, none twice, no rolled-back one; the naive
 * bigserial cursor (`id > last`), run on the same workload, must miss some (so this workload
 * really produces the race the horizon exists for).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeCursor, SNAPSHOT_POSITION_SQL } from '../src/listeners/cursor.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { compare, runChaos } from './helpers/chaos.ts';
import { tokenFor } from './helpers/feed.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ seed: true });
  await t.app.services.feed.ready();
});
afterAll(async () => {
  await t?.stop();
});

it('delivers every committed change exactly once, in order, through listener kills and reconnects', async () => {
  const token = await tokenFor(t.db.pool, 'admin@example.com');
  const { rows } = await t.db.pool.query(SNAPSHOT_POSITION_SQL);
  const result = await runChaos({
    databaseUrl: t.db.url,
    token,
    startCursor: encodeCursor(rows[0]),
    writers: 8,
    targetChanges: 5000,
    naive: true,
    apiUrl: () => t.url,
    subscribers: [
      { transport: 'ws', url: () => t.url },
      { transport: 'ws', url: () => t.url },
      { transport: 'sse', url: () => t.url },
    ],
  });
  expect(result.committed.length).toBeGreaterThanOrEqual(5000);
  // The log holds every change whose transaction reported success, and nothing of the rolled-back ones.
  expect(result.committed.length).toBeGreaterThanOrEqual(result.writerChanges);
  expect(result.committed.length).toBeLessThanOrEqual(result.writerChanges + result.uncertain);
  expect(result.rolledBack).toBeGreaterThan(0);
  expect(result.apiWrites).toBeGreaterThan(10);
  expect(result.kills).toBeGreaterThan(5);
  for (const s of result.subscribers) {
    expect(s.sessions).toBeGreaterThan(3);
    expect(compare(result.committed, s.positions)).toEqual({
      expected: result.committed.length,
      got: result.committed.length,
      missing: 0,
      duplicates: 0,
      unexpected: 0,
      firstDifference: -1,
    });
    expect(s.rolledBackSeen).toBe(0);
  }
  // The regression the horizon prevents: a plain `id > last` cursor loses changes here.
  expect(result.naiveMissed).toBeGreaterThan(0);
}, 90_000);

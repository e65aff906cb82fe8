/**
 * Applies prisma/migrations/<name>/migration.sql in name order, recording each in
 * `_prisma_migrations` exactly as `prisma migrate deploy` does, so that a machine that has Prisma's
 * schema engine can take over the same database later.
 *
 * - Runs under Prisma's advisory lock (72707369): concurrent migrators (two server processes
 *   starting at once) apply each migration once.
 * - One transaction per migration. The bookkeeping row is written before it and completed after
 *   it; a failed migration leaves its row unfinished with the error in `logs`, and every later run
 *   refuses to continue until it is resolved (as Prisma does).
 * - An applied migration whose file has changed since (SHA-256 checksum mismatch) is refused.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from '../logger.ts';

export const PRISMA_ADVISORY_LOCK_KEY = 72707369;
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export async function readMigrations(dir = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(path.join(dir, name, 'migration.sql'));
      return {
        name,
        sql: bytes.toString('utf8'),
        checksum: createHash('sha256').update(bytes).digest('hex'),
      };
    }),
  );
}

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export async function migrate(
  databaseUrl: string,
  opts: {
    log: Logger;
    dir?: string;
    /** Apply only the migrations it accepts (a restore brings a database to a backup's schema). */
    select?: (name: string) => boolean;
  },
): Promise<MigrateResult> {
  const log = opts.log.child({ module: 'migrator' });
  const files = await readMigrations(opts.dir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
    try {
      await client.query(CREATE_TABLE);
      const { rows } = await client.query<AppliedRow>(
        'SELECT id, checksum, migration_name, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
      );
      const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
      if (failed) {
        throw new MigrationError(
          `Migration ${failed.migration_name} failed earlier and was not resolved; refusing to continue. ` +
            'Fix the database by hand, then mark the row in _prisma_migrations as rolled back ' +
            '(rolled_back_at = now()) or finished.',
        );
      }
      const done = new Map(rows.filter((r) => r.finished_at !== null).map((r) => [r.migration_name, r]));
      const known = new Set(files.map((f) => f.name));
      for (const name of done.keys()) {
        if (!known.has(name))
          log.warn({ migration: name }, 'database has a migration that is not in prisma/migrations');
      }
      const result: MigrateResult = { applied: [], alreadyApplied: [] };
      for (const file of files) {
        const previous = done.get(file.name);
        if (previous) {
          if (previous.checksum !== file.checksum) {
            throw new MigrationError(
              `Migration ${file.name} was modified after it was applied (checksum ${previous.checksum} in the ` +
                `database, ${file.checksum} on disk). Applied migrations must not change: restore the file ` +
                'and put the change in a new migration.',
            );
          }
          result.alreadyApplied.push(file.name);
          continue;
        }
        if (opts.select && !opts.select(file.name)) continue;
        await applyOne(client, file, log);
        result.applied.push(file.name);
      }
      return result;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_KEY]).catch(() => {});
    }
  } finally {
    await client.end();
  }
}

async function applyOne(client: pg.Client, file: MigrationFile, log: Logger): Promise<void> {
  const id = randomUUID();
  await client.query(
    'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
    [id, file.checksum, file.name],
  );
  const started = Date.now();
  try {
    await client.query('BEGIN');
    await client.query(file.sql);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    const message = err instanceof Error ? err.message : String(err);
    await client.query('UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1', [id, message]);
    throw new MigrationError(`Migration ${file.name} failed: ${message}`);
  }
  await client.query(
    'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
    [id],
  );
  log.info({ migration: file.name, ms: Date.now() - started }, 'migration applied');
}

/**
 * The database the CLI imports into: the one at DATABASE_URL; else the embedded PostgreSQL of
 * DATA_DIR, joined when `npm start` is running it (its postmaster.pid names a live process:
 * starting a second one would stop the server's), or started for the import and stopped after.
 * Migrations are applied first (the import map and the IMPORT movement kind come with them).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.ts';
import { EMBEDDED_DATABASE_NAME, migrateDatabase, openDatabase } from '../database/bootstrap.ts';
import { createDb, type Db } from '../db.ts';
import type { Logger } from '../logger.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The URL of a running embedded PostgreSQL of `dataDir`, or null when none runs. */
async function runningEmbedded(dataDir: string): Promise<string | null> {
  const pidFile = await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').catch(() => null);
  if (!pidFile) return null;
  const lines = pidFile.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isFinite(pid) || !Number.isFinite(port) || !alive(pid)) return null;
  const password = (await readFile(path.join(dataDir, 'pg-password'), 'utf8')).trim();
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${EMBEDDED_DATABASE_NAME}`;
}

export async function openImportDatabase(
  config: Config,
  log: Logger,
): Promise<{ db: Db; close(): Promise<void> }> {
  const running = config.DATABASE_URL ? null : await runningEmbedded(config.DATA_DIR);
  const database = running ? { url: running, stop: async () => {} } : await openDatabase(config, log);
  try {
    await migrateDatabase(database.url, log);
    const db = createDb(
      {
        url: database.url,
        poolSize: 4,
        statementTimeoutMs: config.STATEMENT_TIMEOUT_MS,
        idleInTransactionTimeoutMs: config.IDLE_IN_TRANSACTION_TIMEOUT_MS,
      },
      log,
    );
    return {
      db,
      async close() {
        await db.close();
        await database.stop();
      },
    };
  } catch (err) {
    await database.stop();
    throw err;
  }
}

/**
 * Brings up the database the server runs on: the one at DATABASE_URL, or an embedded PostgreSQL
 * with its data in DATA_DIR. Then applies migrations and, on an empty database, the sample data.
 */
import { type BackupSettings, backupBeforeMigration, recordBackupRunAt } from '../backup/automatic.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.ts';
import { migrate } from './migrator.ts';

export const EMBEDDED_DATABASE_NAME = 'branchline';

export interface Database {
  url: string;
  embedded?: EmbeddedPostgres;
  stop(): Promise<void>;
}

export async function openDatabase(config: Config, log: Logger): Promise<Database> {
  if (config.DATABASE_URL) {
    return { url: config.DATABASE_URL, stop: async () => {} };
  }
  const embedded = await startEmbeddedPostgres({ dir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, log });
  try {
    await embedded.ensureDatabase(EMBEDDED_DATABASE_NAME);
  } catch (err) {
    await embedded.stop();
    throw err;
  }
  return { url: embedded.urlFor(EMBEDDED_DATABASE_NAME), embedded, stop: () => embedded.stop() };
}

/**
 * Applies pending migrations. With `backup` (BACKUP_DIR not off), a database that has migrations
 * applied and more pending is backed up (and the backup verified) first; a failed backup stops it.
 */
export async function migrateDatabase(url: string, log: Logger, opts: { backup?: BackupSettings } = {}) {
  const backup = opts.backup ? await backupBeforeMigration(url, opts.backup, log) : null;
  const result = await migrate(url, { log });
  if (backup) await recordBackupRunAt(url, backup, log);
  log.info(
    { module: 'migrator', applied: result.applied, alreadyApplied: result.alreadyApplied.length },
    result.applied.length ? 'database migrated' : 'database schema is up to date',
  );
  return result;
}

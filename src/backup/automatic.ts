/**
 * Automatic backups for the owner: a daily one (at BACKUP_HOUR, or as soon as the server is up
 * after that hour when the PC was off), one before every migration that will apply something,
 * the newest BACKUP_KEEP automatic ones kept, each read back and checked after writing, every
 * result recorded in `backup_runs` for the admins' view.
 *
 * Guarantees:
 * - A backup counts as good (`ok`) only after the written file was read back in full and every
 *   checksum in it matched (format.ts).
 * - One daily backup per day across all server processes on the database: a process runs it only
 *   under a session advisory lock and after checking `backup_runs` for today's. A failed one is
 *   tried again an hour later.
 * - Rotation deletes only automatic backups (`-daily`, `-pre-migration`) in BACKUP_DIR, oldest
 *   first, and only after a new one was verified; a manual `npm run backup` file is never deleted.
 * - A pre-migration backup that fails stops the migration (and the start) with the reason.
 *
 * Not guaranteed: a copy anywhere but BACKUP_DIR. Put it on another disk, or copy the files away.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { PRISMA_ADVISORY_LOCK_KEY, readMigrations } from '../database/migrator.ts';
import type { Logger } from '../logger.ts';
import { readBackup } from './format.ts';
import { type BackupOptions, backupDatabase } from './snapshot.ts';
import { appliedMigrations } from './tables.ts';

export type BackupKind = 'daily' | 'pre-migration' | 'manual';
const AUTOMATIC: BackupKind[] = ['daily', 'pre-migration'];
const NAME = /^branchline-\d{8}-\d{6}(?:-\d+)?-(daily|pre-migration|manual)\.backup\.gz$/;
const DAILY_LOCK = 'branchline:daily-backup';
const RETRY_MS = 60 * 60 * 1000;

export interface BackupSettings {
  /** Absolute folder; null: automatic backups are off (BACKUP_DIR=off). */
  dir: string | null;
  keep: number;
  hour: number;
}

/** BACKUP_DIR resolved: `off`, the given folder, or `backups/` beside DATA_DIR. */
export function backupDirOf(config: { BACKUP_DIR?: string; DATA_DIR: string }): string | null {
  if (config.BACKUP_DIR === 'off') return null;
  return path.resolve(config.BACKUP_DIR ?? path.join(path.dirname(path.resolve(config.DATA_DIR)), 'backups'));
}

export interface BackupRunRecord {
  kind: BackupKind;
  file: string;
  startedAt: Date;
  finishedAt: Date;
  ok: boolean;
  sizeBytes: number | null;
  tables: number | null;
  rows: number | null;
  schemaVersion: string | null;
  error: string | null;
}

const pad = (n: number) => String(n).padStart(2, '0');
/** `branchline-20261128-020000-daily.backup.gz` (local time: what the owner sees on the PC). */
export function backupFileName(kind: BackupKind, at = new Date()): string {
  const date = `${at.getFullYear()}${pad(at.getMonth() + 1)}${pad(at.getDate())}`;
  const time = `${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
  return `branchline-${date}-${time}-${kind}.backup.gz`;
}

async function freeName(dir: string, kind: BackupKind, at: Date): Promise<string> {
  const base = backupFileName(kind, at);
  for (let n = 0; ; n++) {
    const name = n ? base.replace(`-${kind}.`, `-${n}-${kind}.`) : base;
    const file = path.join(dir, name);
    const taken = await stat(file).then(
      () => true,
      () => false,
    );
    if (!taken) return file;
  }
}

/**
 * Writes a backup into `dir` (or to `file`), reads it back and checks it. Never throws: the
 * result says what happened (the caller records it).
 */
export async function runBackup(opts: {
  url: string;
  kind: BackupKind;
  dir?: string;
  file?: string;
  log: Logger;
  onProgress?: BackupOptions['onProgress'];
}): Promise<BackupRunRecord> {
  const log = opts.log.child({ module: 'backup' });
  const startedAt = new Date();
  let file = opts.file ?? '';
  try {
    if (!file) {
      const dir = opts.dir as string;
      await mkdir(dir, { recursive: true });
      file = await freeName(dir, opts.kind, startedAt);
    }
    const result = await backupDatabase({ url: opts.url, file, log, onProgress: opts.onProgress });
    const check = await readBackup(file);
    if (check.trailer.sha256 !== result.trailer.sha256)
      throw new Error('the file read back differs from what was written');
    log.info({ kind: opts.kind, file, size: result.size, rows: result.trailer.rows }, 'backup verified');
    return {
      kind: opts.kind,
      file,
      startedAt,
      finishedAt: new Date(),
      ok: true,
      sizeBytes: result.size,
      tables: result.trailer.tables,
      rows: result.trailer.rows,
      schemaVersion: result.header.schemaVersion,
      error: null,
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.error({ kind: opts.kind, file, err: message }, 'backup failed');
    return {
      kind: opts.kind,
      file,
      startedAt,
      finishedAt: new Date(),
      ok: false,
      sizeBytes: null,
      tables: null,
      rows: null,
      schemaVersion: null,
      error: message,
    };
  }
}

/** Records a run in backup_runs; false when the table does not exist (yet). */
export async function recordBackupRun(db: pg.Pool | pg.ClientBase, r: BackupRunRecord): Promise<boolean> {
  const { rows } = await db.query(`SELECT to_regclass('backup_runs') IS NOT NULL AS ok`);
  if (!rows[0]?.ok) return false;
  await db.query(
    `INSERT INTO backup_runs (kind, file, started_at, finished_at, ok, size_bytes, tables, rows, schema_version, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      r.kind,
      r.file,
      r.startedAt,
      r.finishedAt,
      r.ok,
      r.sizeBytes,
      r.tables,
      r.rows,
      r.schemaVersion,
      r.error,
    ],
  );
  return true;
}

/** Deletes the oldest automatic backups in `dir` beyond `keep`; returns the deleted paths. */
export async function rotateBackups(dir: string, keep: number): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const automatic = names.filter((n) => {
    const kind = NAME.exec(n)?.[1] as BackupKind | undefined;
    return kind !== undefined && AUTOMATIC.includes(kind);
  });
  // Newest first: by time written, then by name and the `-<n>-` of a second backup in one second.
  const seq = (name: string) => Number(/-\d{6}-(\d+)-/.exec(name)?.[1] ?? 0);
  const dated = await Promise.all(
    automatic.map(async (name) => ({ name, mtime: (await stat(path.join(dir, name))).mtimeMs })),
  );
  dated.sort(
    (a, b) =>
      b.mtime - a.mtime ||
      b.name.replace(/-(\d{6})-\d+-/, '-$1-').localeCompare(a.name.replace(/-(\d{6})-\d+-/, '-$1-')) ||
      seq(b.name) - seq(a.name),
  );
  const doomed = dated.slice(keep).map((d) => path.join(dir, d.name));
  for (const file of doomed) await rm(file, { force: true });
  return doomed;
}

/** An automatic backup: run, record, and rotate after a verified one. */
export async function automaticBackup(
  url: string,
  settings: BackupSettings & { dir: string },
  kind: BackupKind,
  log: Logger,
  record = true,
): Promise<BackupRunRecord> {
  const run = await runBackup({ url, kind, dir: settings.dir, log });
  if (run.ok) {
    const deleted = await rotateBackups(settings.dir, settings.keep);
    if (deleted.length) log.info({ module: 'backup', deleted }, 'old automatic backups deleted');
  }
  if (record) await recordBackupRunAt(url, run, log);
  return run;
}

/** Records a run through a connection of its own; logs (never throws) when it cannot. */
export async function recordBackupRunAt(url: string, run: BackupRunRecord, log: Logger): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await recordBackupRun(client, run);
  } catch (err) {
    log.warn({ module: 'backup', err: (err as Error).message }, 'could not record the backup run');
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Before migrating: when the database has applied migrations and some are pending, a verified
 * backup first. Returns the run (to record once the migrations created backup_runs), or null
 * when nothing needed one. Throws when the backup failed.
 */
export async function backupBeforeMigration(
  url: string,
  settings: BackupSettings,
  log: Logger,
): Promise<BackupRunRecord | null> {
  if (!settings.dir) return null;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // Under the migrators' lock: a process that finds nothing pending sees the other's result.
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
    const applied = new Set((await appliedMigrations(client)).map((m) => m.name));
    if (!applied.size) return null;
    const pending = (await readMigrations()).filter((m) => !applied.has(m.name)).map((m) => m.name);
    if (!pending.length) return null;
    log.info({ module: 'backup', pending }, 'backing up before migrating');
    const run = await automaticBackup(url, { ...settings, dir: settings.dir }, 'pre-migration', log, false);
    if (!run.ok) {
      throw new Error(
        `The backup before migrating failed (${run.error}); the database was not migrated. Fix the cause ` +
          '(disk space, BACKUP_DIR), or set BACKUP_DIR=off to migrate without a backup.',
      );
    }
    return run;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_KEY]).catch(() => {});
    await client.end().catch(() => {});
  }
}

/** The most recent daily slot at or before `now` (local time). */
export function lastSlot(now: Date, hour: number): Date {
  const slot = new Date(now);
  slot.setHours(hour, 0, 0, 0);
  if (slot > now) slot.setDate(slot.getDate() - 1);
  return slot;
}

export interface SchedulerOptions {
  url: string;
  settings: BackupSettings & { dir: string };
  log: Logger;
  /** First check after start (default 30 s), then every `checkEveryMs` (default 5 min). */
  firstCheckMs?: number;
  checkEveryMs?: number;
}

/** The daily backup of a server process. */
export class BackupScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly pool: pg.Pool;

  constructor(private readonly opts: SchedulerOptions) {
    this.pool = new pg.Pool({ connectionString: opts.url, max: 1 });
    this.pool.on('error', () => {});
  }

  start(): this {
    this.schedule(this.opts.firstCheckMs ?? 30_000);
    return this;
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.check()
        .then(() => {})
        .catch((err) =>
          this.opts.log.warn({ module: 'backup', err: (err as Error).message }, 'backup check failed'),
        )
        .finally(() => {
          this.running = undefined;
          this.schedule(this.opts.checkEveryMs ?? 5 * 60_000);
        });
    }, ms);
    this.timer.unref();
  }

  /** Runs the daily backup when it is due; resolves with the run, or null when none was due. */
  async check(now = new Date()): Promise<BackupRunRecord | null> {
    const client = await this.pool.connect();
    try {
      const { rows: locked } = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
        [DAILY_LOCK],
      );
      if (!locked[0]?.ok) return null;
      try {
        const { rows } = await client.query<{ last_ok: Date | null; last_try: Date | null }>(
          `SELECT max(started_at) FILTER (WHERE ok) AS last_ok, max(started_at) AS last_try
             FROM backup_runs WHERE kind = 'daily'`,
        );
        const slot = lastSlot(now, this.opts.settings.hour);
        const lastOk = rows[0]?.last_ok ?? null;
        const lastTry = rows[0]?.last_try ?? null;
        const due =
          (!lastOk || lastOk < slot) &&
          (!lastTry || lastTry < slot || now.getTime() - lastTry.getTime() >= RETRY_MS);
        if (!due || this.stopped) return null;
        const run = await automaticBackup(this.opts.url, this.opts.settings, 'daily', this.opts.log, false);
        await recordBackupRun(client, run);
        return run;
      } finally {
        await client
          .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [DAILY_LOCK])
          .catch(() => {});
      }
    } finally {
      client.release();
    }
  }

  /** Stops the timer; waits for a backup in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.pool.end().catch(() => {});
  }
}

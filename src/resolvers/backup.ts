/**
 * backupStatus (admins): the backups recorded in backup_runs by the server's automatic backups
 * and `npm run backup`, newest first, and whether the last good one is too old.
 */
import type { Context } from '../context.ts';
import { requireViewer } from './viewer.ts';

/** The last good backup older than this (or none at all) is a warning in the web app. */
export const BACKUP_STALE_AFTER_MS = 2 * 24 * 60 * 60 * 1000;

export interface BackupRunView {
  kind: string;
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

export interface BackupStatusView {
  lastRun: BackupRunView | null;
  lastSuccess: BackupRunView | null;
  stale: boolean;
  recent: BackupRunView[];
}

interface Row {
  kind: string;
  file: string;
  started_at: Date;
  finished_at: Date;
  ok: boolean;
  size_bytes: string | null;
  tables: number | null;
  rows: string | null;
  schema_version: string | null;
  error: string | null;
}

const view = (r: Row): BackupRunView => ({
  kind: r.kind,
  file: r.file,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  ok: r.ok,
  sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
  tables: r.tables,
  rows: r.rows === null ? null : Number(r.rows),
  schemaVersion: r.schema_version,
  error: r.error,
});

const COLUMNS = 'kind, file, started_at, finished_at, ok, size_bytes, tables, rows, schema_version, error';

/** Null for anybody but an admin. */
export async function backupStatus(
  ctx: Context,
  limit: number,
  now = new Date(),
): Promise<BackupStatusView | null> {
  const viewer = requireViewer(ctx);
  if (viewer.role !== 'ADMIN') return null;
  const n = Math.max(1, Math.min(50, limit));
  const [recent, success] = await Promise.all([
    ctx.db.pool.query<Row>(`SELECT ${COLUMNS} FROM backup_runs ORDER BY started_at DESC LIMIT $1`, [n]),
    ctx.db.pool.query<Row>(`SELECT ${COLUMNS} FROM backup_runs WHERE ok ORDER BY started_at DESC LIMIT 1`),
  ]);
  const lastSuccess = success.rows[0] ? view(success.rows[0]) : null;
  return {
    lastRun: recent.rows[0] ? view(recent.rows[0]) : null,
    lastSuccess,
    stale: !lastSuccess || now.getTime() - lastSuccess.finishedAt.getTime() > BACKUP_STALE_AFTER_MS,
    recent: recent.rows.map(view),
  };
}

/**
 * `restoreBackup`: a backup file into a database, checked before anything is written.
 *
 * Guarantees:
 * - The file is read and checked in full first (format.ts); a damaged file, a file of a newer
 *   format, or one whose schema has migrations this copy of Branchline does not know is refused
 *   with a message saying so, and nothing is written.
 * - The target is a new database (created), an empty one, or, with `replace`, a database that
 *   holds data and that nobody is connected to: the backup is restored into a new database beside
 *   it, which then takes its name; the previous one is kept, renamed `<name>_before_<time>`.
 * - The schema is built by the migrations the backup had, then every table is loaded in one
 *   transaction (user triggers off, so nothing is re-stamped or logged twice; foreign keys
 *   checked) and compared with the checksum taken in the backup's snapshot before it commits:
 *   the restored database holds exactly the snapshot's rows, or nothing. Migrations newer than the
 *   backup are applied afterwards.
 * - The change feed starts a new history: every cursor issued before the restore gets
 *   CURSOR_EXPIRED. `feed_state.epoch` is rotated (a restore into the same PostgreSQL cluster
 *   keeps its system identifier and timeline), the pruned horizon is cleared, and the change log
 *   keeps its rows (record history) renumbered under the restore's own transaction id, in their
 *   old order: the old ids belong to another cluster's or an earlier time's transaction ids, and new
 *   changes must sort after them.
 *
 * Not guaranteed: roles, grants and server settings (not in a backup); sessions and API tokens
 * are as they were at the backup, so a token revoked since is valid again.
 */
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { migrate, readMigrations } from '../database/migrator.ts';
import type { Logger } from '../logger.ts';
import { type BackupHeader, type BackupTable, readBackup } from './format.ts';
import { TOOL_SESSION_SQL } from './snapshot.ts';
import { listTables, quoteIdent, RENUMBERED_COLUMNS, tableChecksum } from './tables.ts';

export class RestoreError extends Error {
  override name = 'RestoreError';
}

export interface RestoreProgress {
  phase: 'checking' | 'loading' | 'verifying' | 'migrating';
  /** Uncompressed bytes read (checking, loading) of `totalBytes`. */
  bytes: number;
  totalBytes: number;
  table?: string;
}

export interface RestoreOptions {
  file: string;
  /** The database to restore into (created when missing). */
  targetUrl: string;
  /** Replace a database that holds data (kept under another name). */
  replace?: boolean;
  log: Logger;
  onProgress?: (p: RestoreProgress) => void;
}

export interface RestoreResult {
  database: string;
  header: BackupHeader;
  tables: { name: string; rows: number }[];
  rows: number;
  /** Migrations newer than the backup, applied after it was loaded. */
  migrated: string[];
  /** With `replace`: the name the previous database now has. */
  previous?: string;
  ms: number;
}

const databaseOf = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));
export function withDatabaseName(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

/** Checks a backup's header against the migrations this copy of Branchline has. */
export async function checkSchema(header: BackupHeader): Promise<void> {
  const known = new Set((await readMigrations()).map((m) => m.name));
  const unknown = header.migrations.filter((m) => !known.has(m.name)).map((m) => m.name);
  if (unknown.length) {
    throw new RestoreError(
      `This backup comes from a newer version of Branchline: its database has migration(s) ${unknown.join(', ')}, ` +
        'which this copy does not know. Update Branchline to the version that made the backup (or a newer one), ' +
        'then restore again. Nothing was changed.',
    );
  }
}

export async function restoreBackup(opts: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  const log = opts.log.child({ module: 'restore' });
  let totalBytes = 0;
  const { header, trailer } = await readBackup(opts.file, {
    onProgress: (bytes) => opts.onProgress?.({ phase: 'checking', bytes, totalBytes: bytes }),
  });
  totalBytes = trailer.bytes;
  await checkSchema(header);

  const name = databaseOf(opts.targetUrl);
  const state = await targetState(opts.targetUrl);
  let loadUrl = opts.targetUrl;
  let created: string | undefined;
  if (state.missing) {
    await maintenance(opts.targetUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
    created = name;
  } else if (state.tables > 0) {
    if (!opts.replace) {
      throw new RestoreError(
        `Database ${name} already holds data (${state.tables} tables). Restore into another database ` +
          '(--database <new name>), or replace this one with --replace (stop Branchline first; the current ' +
          'data is kept as a database under another name). Nothing was changed.',
      );
    }
    await refuseIfInUse(opts.targetUrl, name);
    const staging = shortName(name, `_restoring_${stamp()}`);
    await maintenance(opts.targetUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(staging)}`));
    created = staging;
    loadUrl = withDatabaseName(opts.targetUrl, staging);
  }

  let tables: { name: string; rows: number }[];
  let migrated: string[];
  try {
    const inBackup = new Set(header.migrations.map((m) => m.name));
    await migrate(loadUrl, { log, select: (m) => inBackup.has(m) });
    tables = await load(loadUrl, opts.file, header, (p) => opts.onProgress?.({ ...p, totalBytes }));
    opts.onProgress?.({ phase: 'migrating', bytes: totalBytes, totalBytes });
    migrated = (await migrate(loadUrl, { log })).applied;
  } catch (err) {
    if (created) {
      await maintenance(opts.targetUrl, (c) =>
        c.query(`DROP DATABASE IF EXISTS ${quoteIdent(created)} WITH (FORCE)`),
      ).catch(() => {});
    }
    throw err;
  }

  let previous: string | undefined;
  if (loadUrl !== opts.targetUrl) {
    previous = shortName(name, `_before_${stamp()}`);
    const staging = databaseOf(loadUrl);
    try {
      await refuseIfInUse(opts.targetUrl, name);
      await maintenance(opts.targetUrl, async (c) => {
        await c.query(`ALTER DATABASE ${quoteIdent(name)} RENAME TO ${quoteIdent(previous as string)}`);
        await c.query(`ALTER DATABASE ${quoteIdent(staging)} RENAME TO ${quoteIdent(name)}`);
      });
    } catch (err) {
      await maintenance(opts.targetUrl, (c) =>
        c.query(`DROP DATABASE IF EXISTS ${quoteIdent(staging)} WITH (FORCE)`),
      ).catch(() => {});
      throw err;
    }
  }
  const rows = tables.reduce((n, t) => n + t.rows, 0);
  const ms = Date.now() - started;
  log.info({ database: name, tables: tables.length, rows, migrated, previous, ms }, 'backup restored');
  return { database: name, header, tables, rows, migrated, previous, ms };
}

/** Loads the rows in one transaction, checks them against the backup's checksums, commits. */
async function load(
  url: string,
  file: string,
  header: BackupHeader,
  progress: (p: Omit<RestoreProgress, 'totalBytes'>) => void,
): Promise<{ name: string; rows: number }[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'branchline-restore' });
  await client.connect();
  try {
    await client.query(TOOL_SESSION_SQL);
    await client.query('BEGIN');
    const present = new Map((await listTables(client)).map((t) => [t.name, t]));
    for (const t of header.tables) {
      const there = present.get(t.name);
      const missing = there ? t.columns.filter((c) => !there.columns.includes(c)) : [];
      if (!there || missing.length) {
        throw new RestoreError(
          `The backup's table ${t.name}${missing.length ? ` (columns ${missing.join(', ')})` : ''} does not exist ` +
            'in a database built by its migrations: the migration files differ from the ones that made the backup.',
        );
      }
    }
    const names = header.tables.map((t) => quoteIdent(t.name));
    for (const n of names) await client.query(`ALTER TABLE ${n} DISABLE TRIGGER USER`);
    await client.query(`TRUNCATE ${names.join(', ')}`);
    const staged = new Map<string, string>();
    for (const t of header.tables) {
      if (!RENUMBERED_COLUMNS[t.name]) continue;
      const temp = `restore_${t.name}`;
      await client.query(`CREATE TEMP TABLE ${quoteIdent(temp)} (LIKE ${quoteIdent(t.name)}) ON COMMIT DROP`);
      staged.set(t.name, temp);
    }

    let copy: ReturnType<typeof copyFrom> | undefined;
    let copyDone: Promise<void> | undefined;
    let copyError: Error | undefined;
    await readBackup(file, {
      onTableStart(t) {
        progress({ phase: 'loading', bytes: 0, table: t.name });
        const into = staged.get(t.name) ?? t.name;
        copy = client.query(
          copyFrom(`COPY ${quoteIdent(into)} (${t.columns.map(quoteIdent).join(', ')}) FROM STDIN`),
        );
        const stream = copy;
        copyDone = new Promise<void>((resolve, reject) => {
          stream.once('finish', resolve);
          stream.once('error', (err) => {
            copyError = err;
            reject(err);
          });
        });
        copyDone.catch(() => {});
      },
      async onRows(_t, data) {
        if (copyError) throw copyError;
        const stream = copy as NonNullable<typeof copy>;
        if (!stream.write(data)) {
          await new Promise<void>((resolve, reject) => {
            stream.once('drain', resolve);
            (copyDone as Promise<void>).catch(reject);
          });
        }
      },
      async onTableEnd(t) {
        (copy as NonNullable<typeof copy>).end();
        try {
          await copyDone;
        } catch (err) {
          throw new RestoreError(`Loading table ${t.name} failed: ${(err as Error).message}`);
        }
      },
      onProgress: (bytes) => progress({ phase: 'loading', bytes }),
    });

    for (const [table, temp] of staged) await renumber(client, header, table, temp);
    progress({ phase: 'verifying', bytes: 0 });
    const result: { name: string; rows: number }[] = [];
    for (const t of header.tables) {
      const sum = await tableChecksum(client, t.name);
      if (sum.rows !== t.rows || sum.checksum !== t.checksum) {
        throw new RestoreError(
          `Table ${t.name} as restored (${sum.rows} rows) does not match the backup's snapshot (${t.rows} rows, ` +
            `checksum ${t.checksum}); nothing was restored.`,
        );
      }
      result.push({ name: t.name, rows: t.rows });
    }
    await resetSequences(client, header.tables);
    // A new history for the change feed: every cursor issued before the restore expires.
    if (present.has('feed_state')) {
      await client.query(
        `INSERT INTO feed_state (id) VALUES (1) ON CONFLICT (id) DO UPDATE
            SET epoch = gen_random_uuid(), pruned_xid = NULL, pruned_id = NULL, pruned_at = NULL`,
      );
    }
    for (const n of names) await client.query(`ALTER TABLE ${n} ENABLE TRIGGER USER`);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The change log's rows under this transaction's id, numbered in their old `(xid, id)` order:
 * one history, in the same order, that sorts before every change made after the restore.
 */
async function renumber(client: pg.Client, header: BackupHeader, table: string, temp: string) {
  const skip = RENUMBERED_COLUMNS[table] ?? [];
  const columns = (header.tables.find((t) => t.name === table)?.columns ?? []).filter(
    (c) => !skip.includes(c),
  );
  const list = columns.map(quoteIdent).join(', ');
  await client.query(
    `INSERT INTO ${quoteIdent(table)} (xid, id, ${list})
     SELECT pg_current_xact_id(), row_number() OVER (ORDER BY xid, id), ${list} FROM ${quoteIdent(temp)}`,
  );
}

/** Identity and serial sequences continue after the restored rows. */
async function resetSequences(client: pg.Client, tables: BackupTable[]) {
  const { rows } = await client.query<{ tbl: string; col: string; seq: string }>(
    `SELECT c.relname AS tbl, a.attname AS col, pg_get_serial_sequence(quote_ident(c.relname), a.attname) AS seq
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relname = ANY($1) AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL`,
    [tables.map((t) => t.name)],
  );
  for (const r of rows) {
    await client.query(
      `SELECT setval($1, coalesce((SELECT max(${quoteIdent(r.col)}) FROM ${quoteIdent(r.tbl)}), 0) + 1, false)`,
      [r.seq],
    );
  }
}

async function targetState(url: string): Promise<{ missing: boolean; tables: number }> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (err) {
    if ((err as { code?: string }).code === '3D000') return { missing: true, tables: 0 };
    throw err;
  }
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
        WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'p')`,
    );
    return { missing: false, tables: rows[0]?.n ?? 0 };
  } finally {
    await client.end().catch(() => {});
  }
}

/** Runs `fn` on the server's maintenance database (`postgres`, else `template1`). */
async function maintenance<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (const db of ['postgres', 'template1']) {
    const client = new pg.Client({ connectionString: withDatabaseName(url, db) });
    try {
      await client.connect();
    } catch (err) {
      lastError = err;
      continue;
    }
    try {
      return await fn(client);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '42501') {
        throw new RestoreError(
          `The database user may not create or rename databases here (${(err as Error).message}). Create an empty ` +
            'database yourself and restore into it with --database <its URL>.',
        );
      }
      throw err;
    } finally {
      await client.end().catch(() => {});
    }
  }
  throw new RestoreError(`Cannot reach the server's maintenance database: ${(lastError as Error)?.message}`);
}

async function refuseIfInUse(url: string, name: string) {
  const others = await maintenance(url, async (c) => {
    const { rows } = await c.query<{ n: number; apps: string[] }>(
      `SELECT count(*)::int AS n, array_agg(DISTINCT coalesce(nullif(application_name, ''), 'unnamed')) AS apps
         FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [name],
    );
    return rows[0];
  });
  if (others && others.n > 0) {
    throw new RestoreError(
      `${others.n} connection(s) are open to database ${name} (${(others.apps ?? []).join(', ')}): stop Branchline ` +
        '(every server process) and anything else using it, then restore again. Nothing was changed.',
    );
  }
}

function stamp(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** `<base><suffix>` within PostgreSQL's 63-byte names: shortens the base when needed. */
function shortName(base: string, suffix: string): string {
  let b = base;
  while (Buffer.byteLength(b + suffix) > 63) b = b.slice(0, -1);
  return b + suffix;
}

/**
 * The PostgreSQL a backup or restore command works on, as `npm start` finds it: the server at
 * DATABASE_URL, or the embedded cluster in DATA_DIR.
 *
 * Guarantees:
 * - An embedded cluster that is running (Branchline is up, or another command holds it) is used as
 *   it is, through the port in its postmaster.pid: it is never stopped or restarted, so a backup
 *   runs while the server keeps serving.
 * - An embedded cluster that is not running is started for the command and stopped after it; a
 *   restore on a new machine (no DATA_DIR yet) initialises one, as the first `npm start` would.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { EMBEDDED_DATABASE_NAME } from '../database/bootstrap.ts';
import { startEmbeddedPostgres } from '../database/embedded-postgres.ts';
import type { Logger } from '../logger.ts';
import { withDatabaseName } from './restore.ts';

export interface ToolServer {
  /** The database Branchline runs on. */
  url: string;
  /** The same server, another database. */
  urlFor(database: string): string;
  /** What it is, for the terminal. */
  description: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The port of a running embedded cluster in `dir`, or undefined when none runs. */
export async function runningEmbeddedPort(dir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isFinite(pid) || !Number.isFinite(port) || !alive(pid)) return undefined;
  return port;
}

export async function openToolServer(
  config: { DATABASE_URL?: string; DATA_DIR: string; EMBEDDED_PG_PORT: number },
  log: Logger,
  opts: { create: boolean },
): Promise<ToolServer> {
  if (config.DATABASE_URL) {
    const url = config.DATABASE_URL;
    const u = new URL(url);
    return {
      url,
      urlFor: (db) => withDatabaseName(url, db),
      description: `PostgreSQL at ${u.hostname}:${u.port || 5432} (DATABASE_URL)`,
      release: async () => {},
    };
  }
  const dir = path.resolve(config.DATA_DIR);
  const port = await runningEmbeddedPort(dir);
  if (port !== undefined) {
    const password = (await readFile(path.join(dir, 'pg-password'), 'utf8')).trim();
    const urlFor = (db: string) =>
      `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
    return {
      url: urlFor(EMBEDDED_DATABASE_NAME),
      urlFor,
      description: `the running embedded PostgreSQL in ${dir} (port ${port})`,
      release: async () => {},
    };
  }
  const initialised = await stat(path.join(dir, 'pg', 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (!initialised && !opts.create) {
    throw new Error(`No database to back up: DATABASE_URL is unset and ${dir} holds no embedded PostgreSQL.`);
  }
  const embedded = await startEmbeddedPostgres({ dir, port: config.EMBEDDED_PG_PORT, log });
  return {
    url: embedded.urlFor(EMBEDDED_DATABASE_NAME),
    urlFor: embedded.urlFor,
    description: `the embedded PostgreSQL in ${dir} (started for this command)`,
    release: () => embedded.stop(),
  };
}

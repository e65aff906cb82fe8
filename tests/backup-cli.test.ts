/**
 * `npm run restore` and `npm run backup` as an owner runs them (node --import tsx scripts/...):
 * - on a new machine (DATA_DIR empty, no DATABASE_URL) a restore initialises the embedded
 *   PostgreSQL, restores into the database `npm start` uses, prints what it restored, and stops
 *   the cluster again; a backup then starts the stopped cluster for itself and stops it after;
 * - against DATABASE_URL: a damaged file is refused with exit code 1 and a message saying why,
 *   and nothing is created.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDatabase } from '../src/backup/snapshot.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { freePort } from './helpers/ports.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

function run(script: string, args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', `scripts/${script}.ts`, ...args],
      { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? ((err as { code?: number }).code ?? 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });
}

let dir: string;
let db: TestDatabase;
let file: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'branchline-backup-cli-'));
  // As root the cluster runs as `postgres`, which must reach DATA_DIR inside this folder.
  await chmod(dir, 0o711);
  db = await createTestDatabase({ seed: true });
  file = path.join(dir, 'shop.backup.gz');
  await backupDatabase({ url: db.url, file });
});

afterAll(async () => {
  await db?.drop();
  const pid = await readFile(path.join(dir, 'data', 'pg', 'postmaster.pid'), 'utf8').catch(() => undefined);
  if (pid) process.kill(Number(pid.split('\n')[0]), 'SIGINT');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('on a new machine with the embedded PostgreSQL', () => {
  it('restores into a new data folder, then backs up with the cluster started for the command', async () => {
    const env = {
      DATABASE_URL: '',
      DATA_DIR: path.join(dir, 'data'),
      EMBEDDED_PG_PORT: String(await freePort()),
      BACKUP_DIR: path.join(dir, 'backups'),
    };
    const restored = await run('restore', [file], env);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain('Restored in');
    expect(restored.stdout).toContain("every table matches the backup's snapshot");
    expect(restored.stdout).toMatch(/database {2}branchline: \d+ tables, \d+ rows/);
    expect(restored.stdout).toMatch(/stock_movements +\d+/);
    expect(restored.stdout).toContain('CURSOR_EXPIRED');
    expect(existsSync(path.join(dir, 'data', 'pg', 'postmaster.pid'))).toBe(false);

    const backedUp = await run('backup', [], env);
    expect(backedUp.stderr).toBe('');
    expect(backedUp.code).toBe(0);
    expect(backedUp.stdout).toContain('Backup written and verified');
    const written = /file {6}(\S+) /.exec(backedUp.stdout)?.[1] as string;
    expect(written).toMatch(/backups\/branchline-\d{8}-\d{6}-manual\.backup\.gz$/);
    expect(existsSync(written)).toBe(true);
    expect(existsSync(path.join(dir, 'data', 'pg', 'postmaster.pid'))).toBe(false);
  });
});

describe('refusals', () => {
  it('refuses a damaged file with a message and exit code 1 (a database with data: tests/backup.test.ts)', async () => {
    const damaged = path.join(dir, 'damaged.backup.gz');
    await copyFile(file, damaged);
    const bytes = await readFile(damaged);
    bytes[Math.floor(bytes.length / 3)] ^= 0x55;
    await writeFile(damaged, bytes);
    const target = `${db.name}_cli`;
    const r = await run('restore', [damaged, '--database', target], { DATABASE_URL: db.url });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Restore refused: .*damaged\.backup\.gz is damaged/);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [target]);
    await c.end();
    expect(exists.rowCount).toBe(0);
  });
});

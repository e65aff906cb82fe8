/**
 * The first start's users (src/database/first-start.ts) on empty databases: without sample data
 * only the admin; with BRANCHLINE_INITIAL_PASSWORD no file and no banner; a second start, or a
 * second process starting at the same moment, changes and prints nothing.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../src/auth/password.ts';
import { firstStart, initialPasswordFile } from '../src/database/first-start.ts';
import { createTestDatabase, type TestDatabase, testLog } from './helpers/db.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'branchline-first-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => {
    text += d;
  });
  return { stream, text: () => text };
}

async function users(db: TestDatabase) {
  return (await db.pool.query('SELECT email, role, password_hash FROM users ORDER BY email')).rows;
}

describe('first start', () => {
  it('without sample data creates only the admin, with a random password shown once', async () => {
    const db = await createTestDatabase();
    try {
      const dataDir = path.join(dir, 'a');
      const out = capture();
      const start = () =>
        firstStart({ databaseUrl: db.url, dataDir, sampleData: false, console: out.stream }, testLog);
      // Two processes at once: one creates the admin, the other finds it.
      await Promise.all([start(), start()]);
      const rows = await users(db);
      expect(rows.map((r) => [r.email, r.role])).toEqual([['admin@example.com', 'ADMIN']]);
      const password = (await readFile(initialPasswordFile(dataDir), 'utf8')).trim();
      expect((await stat(initialPasswordFile(dataDir))).mode & 0o777).toBe(0o600);
      expect(out.text().split(password)).toHaveLength(2);
      expect(await verifyPassword(password, rows[0].password_hash)).toBe(true);
      expect(await verifyPassword('branchline', rows[0].password_hash)).toBe(false);
      await start();
      expect(out.text().split(password)).toHaveLength(2);
      expect(await users(db)).toEqual(rows);
    } finally {
      await db.drop();
    }
  });

  it('with BRANCHLINE_INITIAL_PASSWORD gives it to every sample user, with no file and no banner', async () => {
    const db = await createTestDatabase();
    try {
      const dataDir = path.join(dir, 'b');
      const out = capture();
      await firstStart(
        {
          databaseUrl: db.url,
          dataDir,
          sampleData: true,
          initialPassword: 'demo password',
          console: out.stream,
        },
        testLog,
      );
      const rows = await users(db);
      expect(rows).toHaveLength(7);
      for (const r of rows) expect(await verifyPassword('demo password', r.password_hash)).toBe(true);
      expect(existsSync(initialPasswordFile(dataDir))).toBe(false);
      expect(out.text()).toBe('');
    } finally {
      await db.drop();
    }
  });
});

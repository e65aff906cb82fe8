/**
 * A fresh database per test file, cloned from the migrated template that global-setup made.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { seedSampleData } from '../../prisma/seed.ts';
import { createLogger } from '../../src/logger.ts';
import { withDatabase } from '../global-setup.ts';
import { PASSWORD } from './api.ts';
import './password-cost.ts';

export const testLog = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

export interface TestDatabase {
  name: string;
  url: string;
  /** A small pool for the test's own SQL (assertions, writes from "outside the API"). */
  pool: pg.Pool;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('adminUrl') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(opts: { seed?: boolean } = {}): Promise<TestDatabase> {
  const name = `bl_test_${randomBytes(6).toString('hex')}`;
  const template = inject('templateDb');
  await admin(async (c) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
        return;
      } catch (err) {
        // Another file cloning the template at this very moment: try again shortly.
        if (attempt > 20 || !String(err).includes('is being accessed by other users')) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  });
  const url = withDatabase(inject('adminUrl'), name);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {});
  // The sample users' password is the tests' known one, given explicitly (never a default).
  if (opts.seed) await seedSampleData(pool, testLog, { password: PASSWORD });
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

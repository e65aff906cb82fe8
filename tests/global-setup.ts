/**
 * Starts one PostgreSQL for the whole run (embedded in a temp folder on a free port, or the
 * server at DATABASE_URL), migrates a template database once, and hands both to the tests.
 * Each test file then clones its own database from the template (tests/helpers/db.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../src/database/embedded-postgres.ts';
import { migrate } from '../src/database/migrator.ts';
import { createLogger } from '../src/logger.ts';
import { freePort } from './helpers/ports.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL of the test server's maintenance database (any database name may be swapped in). */
    adminUrl: string;
    /** The migrated template each test database is cloned from. */
    templateDb: string;
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

let embedded: EmbeddedPostgres | undefined;
let dir: string | undefined;
let cleanupTemplate: (() => Promise<void>) | undefined;

export async function setup(project: TestProject) {
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    dir = await mkdtemp(path.join(tmpdir(), 'branchline-test-'));
    embedded = await startEmbeddedPostgres({
      dir,
      port: await freePort(),
      log,
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: 400 },
    });
    adminUrl = embedded.url;
  }
  const templateDb = `branchline_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${templateDb}`);
  await admin.query(`CREATE DATABASE ${templateDb}`);
  await admin.end();
  await migrate(withDatabase(adminUrl, templateDb), { log });
  cleanupTemplate = async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${templateDb} WITH (FORCE)`);
    await c.end();
  };
  project.provide('adminUrl', adminUrl);
  project.provide('templateDb', templateDb);
}

export async function teardown() {
  if (embedded) {
    await embedded.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  } else {
    await cleanupTemplate?.();
  }
}

/**
 * The project's migrator: applies prisma/migrations in order, records them as
 * `prisma migrate deploy` does, is a no-op the second time, refuses a changed file and refuses to
 * continue after a failed migration, and applies each migration once under concurrency.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MIGRATIONS_DIR, migrate, readMigrations } from '../src/database/migrator.ts';
import { testLog } from './helpers/db.ts';
import { type EmptyDatabase, emptyDatabase } from './helpers/empty-database.ts';

let dir: string;
let empty: EmptyDatabase;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'branchline-migrations-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await empty?.drop();
});

async function copyMigrations(): Promise<string> {
  const target = path.join(dir, String(Math.random()).slice(2));
  await cp(DEFAULT_MIGRATIONS_DIR, target, { recursive: true });
  return target;
}

async function rows(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query('SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name')).rows;
  } finally {
    await c.end();
  }
}

describe('migrator', () => {
  it('applies every migration once and records it as Prisma does', async () => {
    empty = await emptyDatabase();
    const files = await readMigrations();
    const first = await migrate(empty.url, { log: testLog });
    expect(first.applied).toEqual(files.map((f) => f.name));
    const recorded = await rows(empty.url);
    expect(recorded).toHaveLength(files.length);
    for (const [i, file] of files.entries()) {
      const bytes = await readFile(path.join(DEFAULT_MIGRATIONS_DIR, file.name, 'migration.sql'));
      expect(recorded[i]).toMatchObject({
        migration_name: file.name,
        checksum: createHash('sha256').update(bytes).digest('hex'),
        applied_steps_count: 1,
        rolled_back_at: null,
        logs: null,
      });
      expect(recorded[i].id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(recorded[i].finished_at).toBeInstanceOf(Date);
      expect(recorded[i].started_at.getTime()).toBeLessThanOrEqual(recorded[i].finished_at.getTime());
    }
    const second = await migrate(empty.url, { log: testLog });
    expect(second).toEqual({ applied: [], alreadyApplied: files.map((f) => f.name) });
    expect(await rows(empty.url)).toEqual(recorded);
  });

  it('refuses a migration whose file changed after it was applied', async () => {
    empty = await emptyDatabase();
    const migrations = await copyMigrations();
    await migrate(empty.url, { log: testLog, dir: migrations });
    const [firstName] = (await readMigrations(migrations)).map((f) => f.name);
    const file = path.join(migrations, firstName as string, 'migration.sql');
    await writeFile(file, `${await readFile(file, 'utf8')}\n-- edited afterwards\n`);
    await expect(migrate(empty.url, { log: testLog, dir: migrations })).rejects.toThrow(
      /was modified after it was applied \(checksum/,
    );
  });

  it('rolls back a failing migration, records the failure and refuses to continue until resolved', async () => {
    empty = await emptyDatabase();
    const migrations = await copyMigrations();
    await mkdir(path.join(migrations, '99990101000000_broken'));
    await writeFile(
      path.join(migrations, '99990101000000_broken', 'migration.sql'),
      'CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;\n',
    );
    await mkdir(path.join(migrations, '99990102000000_after'));
    await writeFile(
      path.join(migrations, '99990102000000_after', 'migration.sql'),
      'CREATE TABLE after_broken (id int);\n',
    );
    await expect(migrate(empty.url, { log: testLog, dir: migrations })).rejects.toThrow(
      /99990101000000_broken failed/,
    );

    const c = new pg.Client({ connectionString: empty.url });
    await c.connect();
    try {
      const tables = await c.query("SELECT to_regclass('half_done') AS a, to_regclass('after_broken') AS b");
      expect(tables.rows[0]).toEqual({ a: null, b: null });
      const broken = (await rows(empty.url)).find((r) => r.migration_name === '99990101000000_broken');
      expect(broken).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
      expect(broken.logs).toMatch(/no_such_table/);

      await expect(migrate(empty.url, { log: testLog, dir: migrations })).rejects.toThrow(
        /99990101000000_broken failed earlier and was not resolved/,
      );
      // Resolved the way `prisma migrate resolve --rolled-back` does, after fixing the file.
      await c.query(
        "UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '99990101000000_broken'",
      );
      await writeFile(
        path.join(migrations, '99990101000000_broken', 'migration.sql'),
        'CREATE TABLE half_done (id int);\n',
      );
      const result = await migrate(empty.url, { log: testLog, dir: migrations });
      expect(result.applied).toEqual(['99990101000000_broken', '99990102000000_after']);
    } finally {
      await c.end();
    }
  });

  it('applies each migration exactly once when several processes migrate at the same time', async () => {
    empty = await emptyDatabase();
    const results = await Promise.all([1, 2, 3, 4].map(() => migrate(empty.url, { log: testLog })));
    const applied = results.flatMap((r) => r.applied).sort();
    expect(applied).toEqual((await readMigrations()).map((f) => f.name).sort());
    expect(await rows(empty.url)).toHaveLength(applied.length);
  });
});

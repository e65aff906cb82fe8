/**
 * Automatic backups (src/backup/automatic.ts) and what admins see of them:
 * - rotation keeps the newest BACKUP_KEEP automatic backups, never a manual one or a foreign
 *   file; every run, good or failed, is recorded and `backupStatus` reports the last one, the last
 *   good one and whether it is over 2 days old (admins only);
 * - the daily backup runs once per slot (also when the server comes up after the hour), and a
 *   failed one is tried again an hour later;
 * - a database with migrations pending is backed up (at its old schema) before migrating, a new
 *   one is not, and a failed backup stops the migration.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  automaticBackup,
  BackupScheduler,
  backupDirOf,
  lastSlot,
  recordBackupRun,
  runBackup,
} from '../src/backup/automatic.ts';
import { readBackup } from '../src/backup/format.ts';
import { migrateDatabase } from '../src/database/bootstrap.ts';
import { migrate } from '../src/database/migrator.ts';
import { withDatabase } from './global-setup.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { testLog } from './helpers/db.ts';
import { tokenFor } from './helpers/feed.ts';

const STATUS = `{ backupStatus(limit: 20) { stale lastRun { kind ok sizeBytes error file } lastSuccess { kind finishedAt }
  recent { kind ok } } }`;

let dir: string;
let t: TestApp;
let admin: string;
let clerk: string;
const extraDbs: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'branchline-autobackup-'));
  t = await startTestApp({ seed: true });
  admin = await tokenFor(t.db.pool, 'admin@example.com');
  clerk = await tokenFor(t.db.pool, 'clerk.dt@example.com');
});

afterAll(async () => {
  await t?.stop();
  const c = new pg.Client({ connectionString: inject('adminUrl') });
  await c.connect();
  for (const name of extraDbs) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await c.end();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('BACKUP_DIR', () => {
  it('defaults to backups/ beside the data folder and can be turned off', () => {
    expect(backupDirOf({ DATA_DIR: '/srv/branchline/.data' })).toBe('/srv/branchline/backups');
    expect(backupDirOf({ DATA_DIR: '.data', BACKUP_DIR: '/mnt/usb/branchline' })).toBe('/mnt/usb/branchline');
    expect(backupDirOf({ DATA_DIR: '.data', BACKUP_DIR: 'off' })).toBeNull();
  });
});

describe('rotation and status', () => {
  it('keeps the newest N automatic backups, each verified, and records every run', async () => {
    const folder = path.join(dir, 'rotation');
    const manual = await runBackup({ url: t.db.url, kind: 'manual', dir: folder, log: testLog });
    expect(manual.ok).toBe(true);
    await recordBackupRun(t.db.pool, manual);
    await writeFile(path.join(folder, 'notes.txt'), 'not a backup');
    const settings = { dir: folder, keep: 3, hour: 2 };
    const runs = [];
    for (let i = 0; i < 5; i++)
      runs.push(await automaticBackup(t.db.url, settings, i === 0 ? 'pre-migration' : 'daily', testLog));
    expect(runs.every((r) => r.ok && (r.sizeBytes ?? 0) > 0)).toBe(true);

    const left = (await readdir(folder)).sort();
    const kept = runs
      .slice(-3)
      .map((r) => path.basename(r.file))
      .sort();
    expect(left).toEqual([...kept, path.basename(manual.file), 'notes.txt'].sort());
    for (const name of kept)
      expect((await readBackup(path.join(folder, name))).trailer.rows).toBeGreaterThan(0);

    const { rows } = await t.db.pool.query('SELECT kind, ok FROM backup_runs ORDER BY started_at');
    expect(rows.map((r) => `${r.kind}:${r.ok}`)).toEqual([
      'manual:true',
      'pre-migration:true',
      'daily:true',
      'daily:true',
      'daily:true',
      'daily:true',
    ]);

    const status = await t.gql(STATUS, {}, admin);
    expect(status.errors).toBeUndefined();
    expect(status.data?.backupStatus).toMatchObject({
      stale: false,
      lastRun: { kind: 'daily', ok: true, error: null, file: runs[4]?.file },
      lastSuccess: { kind: 'daily' },
    });
    expect(status.data?.backupStatus.lastRun.sizeBytes).toBe(runs[4]?.sizeBytes);
    expect(status.data?.backupStatus.recent).toHaveLength(6);
    expect((await t.gql(STATUS, {}, clerk)).data?.backupStatus).toBeNull();
  });

  it('records a failed backup, keeps the last good one, and warns once that is over 2 days old', async () => {
    const blocker = path.join(dir, 'a-file');
    await writeFile(blocker, 'x');
    const failed = await automaticBackup(
      t.db.url,
      { dir: path.join(blocker, 'sub'), keep: 3, hour: 2 },
      'daily',
      testLog,
    );
    expect(failed.ok).toBe(false);
    expect(failed.error).toMatch(/ENOTDIR|not a directory/);
    let status = (await t.gql(STATUS, {}, admin)).data?.backupStatus;
    expect(status).toMatchObject({ stale: false, lastRun: { ok: false }, lastSuccess: { kind: 'daily' } });

    await t.db.pool.query("UPDATE backup_runs SET finished_at = now() - interval '49 hours' WHERE ok");
    status = (await t.gql(STATUS, {}, admin)).data?.backupStatus;
    expect(status.stale).toBe(true);
    await t.db.pool.query('DELETE FROM backup_runs');
    status = (await t.gql(STATUS, {}, admin)).data?.backupStatus;
    expect(status).toMatchObject({ stale: true, lastRun: null, lastSuccess: null, recent: [] });
  });
});

describe('the daily backup', () => {
  it('runs once per slot, after the hour when the server was off, and retries a failure an hour later', async () => {
    expect(lastSlot(new Date(2026, 10, 28, 1, 30), 2)).toEqual(new Date(2026, 10, 27, 2, 0));
    expect(lastSlot(new Date(2026, 10, 28, 9, 0), 2)).toEqual(new Date(2026, 10, 28, 2, 0));

    await t.db.pool.query('DELETE FROM backup_runs');
    const folder = path.join(dir, 'daily');
    const scheduler = new BackupScheduler({
      url: t.db.url,
      settings: { dir: folder, keep: 5, hour: 2 },
      log: testLog,
    });
    try {
      const now = new Date();
      const first = await scheduler.check(now);
      expect(first?.ok).toBe(true);
      expect(await scheduler.check(now)).toBeNull();
      // That backup was yesterday's: today's is due (the slot passed while nothing ran).
      await t.db.pool.query("UPDATE backup_runs SET started_at = started_at - interval '24 hours'");
      expect((await scheduler.check(now))?.ok).toBe(true);
      expect(await scheduler.check(now)).toBeNull();
      expect((await readdir(folder)).filter((n) => n.endsWith('-daily.backup.gz'))).toHaveLength(2);
    } finally {
      await scheduler.stop();
    }

    await t.db.pool.query('DELETE FROM backup_runs');
    const blocker = path.join(dir, 'blocker');
    await writeFile(blocker, 'x');
    const failing = new BackupScheduler({
      url: t.db.url,
      settings: { dir: path.join(blocker, 'sub'), keep: 5, hour: 2 },
      log: testLog,
    });
    try {
      const now = new Date();
      expect((await failing.check(now))?.ok).toBe(false);
      expect(await failing.check(new Date(now.getTime() + 30 * 60_000))).toBeNull();
      expect((await failing.check(new Date(now.getTime() + 61 * 60_000)))?.ok).toBe(false);
      const { rows } = await t.db.pool.query("SELECT ok FROM backup_runs WHERE kind = 'daily'");
      expect(rows).toEqual([{ ok: false }, { ok: false }]);
    } finally {
      await failing.stop();
    }
  });
});

describe('before a migration', () => {
  async function databaseAt(tag: string, until: string | null): Promise<string> {
    const name = `bl_autobackup_${process.pid}_${tag}`;
    extraDbs.push(name);
    const c = new pg.Client({ connectionString: inject('adminUrl') });
    await c.connect();
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    const url = withDatabase(inject('adminUrl'), name);
    if (until) await migrate(url, { log: testLog, select: (m) => m <= until });
    return url;
  }

  it('backs up a database with migrations pending, at its old schema, and records it', async () => {
    const folder = path.join(dir, 'premigration');
    const url = await databaseAt('pending', '20261127120000_accounts');
    const result = await migrateDatabase(url, testLog, { backup: { dir: folder, keep: 5, hour: 2 } });
    expect(result.applied).toContain('20261128120000_backup_runs');
    const files = await readdir(folder);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^branchline-\d{8}-\d{6}-pre-migration\.backup\.gz$/);
    const { header } = await readBackup(path.join(folder, files[0] as string));
    expect(header.schemaVersion).toBe('20261127120000_accounts');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query('SELECT kind, ok, schema_version FROM backup_runs');
    await c.end();
    expect(rows).toEqual([{ kind: 'pre-migration', ok: true, schema_version: '20261127120000_accounts' }]);

    // Nothing pending: no backup. A brand-new database: nothing to back up.
    await migrateDatabase(url, testLog, { backup: { dir: folder, keep: 5, hour: 2 } });
    const fresh = await databaseAt('fresh', null);
    await migrateDatabase(fresh, testLog, { backup: { dir: folder, keep: 5, hour: 2 } });
    expect(await readdir(folder)).toHaveLength(1);
  });

  it('does not migrate when the backup fails', async () => {
    const blocker = path.join(dir, 'blocker-2');
    await writeFile(blocker, 'x');
    const url = await databaseAt('blocked', '20261127120000_accounts');
    const err = await migrateDatabase(url, testLog, {
      backup: { dir: path.join(blocker, 'sub'), keep: 5, hour: 2 },
    }).catch((e) => e);
    expect(err.message).toMatch(/backup before migrating failed .*not migrated.*BACKUP_DIR=off/);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query("SELECT to_regclass('backup_runs') IS NULL AS missing");
    await c.end();
    expect(rows[0]?.missing).toBe(true);
  });
});

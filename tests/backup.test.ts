/**
 * Backup and restore (src/backup/), on the real server and PostgreSQL:
 * - a backup taken while writers and a subscriber run is one snapshot: restored into a new
 *   database, every table's checksum equals the one taken in the snapshot, every quantity equals
 *   the sum of its movements, every movement has its change-log row, and writes kept succeeding
 *   and reaching the subscriber between the tables being written;
 * - after the restore, cursors issued before it (a change's cursor, a list's feedCursor) get
 *   CURSOR_EXPIRED on both transports, while a fresh subscriber on the restored database gets new
 *   changes (the restored log sorts before them);
 * - a damaged file (a byte changed, cut short) and a file from a newer schema are refused with a
 *   message saying so, and nothing is created; a file from an older schema is restored and then
 *   migrated; a database that holds data is replaced only with `replace`, keeping the old one.
 */
import { copyFile, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { BackupFileError, readBackup } from '../src/backup/format.ts';
import { RestoreError, restoreBackup } from '../src/backup/restore.ts';
import { backupDatabase } from '../src/backup/snapshot.ts';
import { tableChecksum } from '../src/backup/tables.ts';
import { migrate, readMigrations } from '../src/database/migrator.ts';
import { withDatabase } from './global-setup.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { testLog } from './helpers/db.ts';
import {
  CHANGES,
  type Change,
  subscribeSse,
  subscribeWs,
  tokenFor,
  waitFor,
  wsClient,
} from './helpers/feed.ts';

const RECEIVE = `mutation ($b: ID!, $p: ID!) { receiveStock(branchId: $b, productId: $p, quantity: 1, note: "backup test") {
  __typename ... on Error { message } } }`;

let dir: string;
let t: TestApp;
let token: string;
const databases: string[] = [];

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('adminUrl') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database name for this file, dropped after it. */
function dbName(tag: string): string {
  const name = `bl_backup_${process.pid}_${tag}`;
  databases.push(name);
  return name;
}
const urlOf = (name: string) => withDatabase(inject('adminUrl'), name);

async function sql<T extends pg.QueryResultRow>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SET TimeZone = 'UTC'");
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'branchline-backup-'));
  t = await startTestApp({ seed: true });
  token = await tokenFor(t.db.pool, 'admin@example.com');
});

afterAll(async () => {
  await t?.stop();
  await admin(async (c) => {
    for (const name of databases) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('backup while the server serves, then restore', () => {
  let file: string;
  let restored: string;
  let beforeCursor: string;
  let lastCursor: string;

  it('takes one consistent snapshot while writers and a subscriber run', async () => {
    const pairs = (
      await t.db.pool.query<{ b: string; p: string }>(
        'SELECT branch_id AS b, product_id AS p FROM stock_levels ORDER BY branch_id, product_id LIMIT 30',
      )
    ).rows;
    const list = await t.gql<{ stockLevels: { feedCursor: string } }>(
      '{ stockLevels(first: 1) { feedCursor } }',
      {},
      token,
    );
    beforeCursor = list.data?.stockLevels.feedCursor as string;
    expect(beforeCursor).toBeTruthy();

    const client = wsClient(t.wsUrl, token);
    const opened = t.app.services.feed.opened;
    const sub = subscribeWs<Change>(client, CHANGES, { after: beforeCursor }, 'changes');
    await t.app.services.feed.waitFor((f) => f.opened > opened);

    let writes = 0;
    let failures = 0;
    let stop = false;
    const writer = async (n: number) => {
      for (let i = n; !stop; i += 3) {
        const { b, p } = pairs[i % pairs.length] as { b: string; p: string };
        const r = await t.gql(RECEIVE, { b, p }, token);
        if (r.data?.receiveStock?.__typename === 'MutationReceiveStockSuccess') writes++;
        else failures++;
      }
    };
    const writers = [writer(0), writer(1), writer(2)];
    await waitFor(() => writes >= 5, 10_000, 'the first writes');

    file = path.join(dir, 'snapshot.backup.gz');
    const duringBackup: number[] = [];
    const result = await backupDatabase({
      url: t.db.url,
      file,
      onProgress: async (p) => {
        if (p.phase !== 'table') return;
        // The snapshot stays open while writes commit and reach the subscriber.
        const seen = sub.events.length;
        const target = writes + 2;
        await waitFor(() => writes >= target && sub.events.length > seen, 10_000, 'writes during the backup');
        duringBackup.push(writes);
      },
    }).finally(() => {
      stop = true;
    });
    await Promise.all(writers);
    expect(failures).toBe(0);
    expect(duringBackup.length).toBe(result.header.tables.length);
    expect(result.header.schemaVersion).toMatch(/^\d{14}_/);
    expect(result.header.excluded).toContain('backup_runs');
    expect(result.header.tables.map((x) => x.name)).not.toContain('backup_runs');

    // Writes went on after the snapshot: the source moved past it.
    const snapshotMovements = result.header.tables.find((x) => x.name === 'stock_movements')?.rows ?? 0;
    const [{ n: nowMovements }] = await sql<{ n: number }>(
      t.db.url,
      'SELECT count(*)::int AS n FROM stock_movements',
    );
    expect(nowMovements).toBeGreaterThan(snapshotMovements);

    await waitFor(() => sub.events.length >= writes * 2, 10_000, 'every write delivered');
    lastCursor = sub.events.at(-1)?.cursor as string;
    sub.stop();
    await client.dispose();

    const check = await readBackup(file);
    expect(check.trailer.rows).toBe(result.trailer.rows);
    expect((await stat(file)).size).toBe(result.size);
  });

  it('restores into a new database: every table equals the snapshot, and the snapshot is consistent', async () => {
    restored = dbName('restored');
    const result = await restoreBackup({ file, targetUrl: urlOf(restored), log: testLog });
    expect(result.database).toBe(restored);
    expect(result.migrated).toEqual([]);
    const { header } = await readBackup(file);
    const client = new pg.Client({ connectionString: urlOf(restored) });
    await client.connect();
    try {
      await client.query("SET TimeZone = 'UTC'");
      for (const table of header.tables) {
        if (table.name === 'feed_state') continue;
        expect({ table: table.name, ...(await tableChecksum(client, table.name)) }).toEqual({
          table: table.name,
          rows: table.rows,
          checksum: table.checksum,
        });
      }
      // feed_state differs by design: a new epoch, no pruned horizon.
      const [src] = (await t.db.pool.query('SELECT epoch FROM feed_state')).rows;
      const [dst] = (await client.query('SELECT epoch, pruned_xid FROM feed_state')).rows;
      expect(dst.epoch).not.toBe(src.epoch);
      expect(dst.pruned_xid).toBeNull();

      const mismatched = await client.query(`
        SELECT s.id FROM stock_levels s
         WHERE s.quantity <> (SELECT coalesce(sum(m.delta), 0) FROM stock_movements m
                               WHERE m.branch_id = s.branch_id AND m.product_id = s.product_id)`);
      expect(mismatched.rows).toEqual([]);
      const unlogged = await client.query(`
        SELECT m.id FROM stock_movements m
         WHERE NOT EXISTS (SELECT 1 FROM change_log l WHERE l.tbl = 'stock_movements' AND l.row_id = m.id)`);
      expect(unlogged.rows).toEqual([]);
      // The log is one history under the restore's transaction, in its old order.
      const log = await client.query<{ xids: number; first: string; last: string; n: string }>(
        'SELECT count(DISTINCT xid)::int AS xids, min(id)::text AS first, max(id)::text AS last, count(*)::text AS n FROM change_log',
      );
      expect(log.rows[0]).toMatchObject({ xids: 1, first: '1', last: log.rows[0]?.n });
      // Triggers are back on: an update is versioned and logged.
      const before = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM change_log');
      await client.query("UPDATE branches SET name = name || ' (restored)' WHERE code = 'DT'");
      const after = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM change_log');
      expect(after.rows[0]?.n).toBe((before.rows[0]?.n ?? 0) + 1);
    } finally {
      await client.end();
    }
  });

  it('refuses every cursor issued before the restore with CURSOR_EXPIRED, and serves new ones', async () => {
    const app = buildApp({ databaseUrl: urlOf(restored), log: testLog, poolSize: 4, feed: { pollMs: 300 } });
    const { url } = await app.start(0, '127.0.0.1');
    try {
      await app.services.feed.ready();
      const graphqlUrl = `${url}/graphql`;
      const wsUrl = graphqlUrl.replace(/^http/, 'ws');
      const client = wsClient(wsUrl, token);
      for (const cursor of [beforeCursor, lastCursor]) {
        const ws = subscribeWs(client, CHANGES, { after: cursor }, 'changes');
        const sse = subscribeSse(graphqlUrl, token, CHANGES, { after: cursor }, 'changes');
        await Promise.race([Promise.all([ws.ended, sse.ended]), new Promise((r) => setTimeout(r, 10_000))]);
        for (const c of [ws, sse]) {
          expect(c.events).toEqual([]);
          expect(c.errors.map((e: any) => e.extensions?.code)).toContain('CURSOR_EXPIRED');
        }
        sse.stop();
      }
      // A client that reloads gets a cursor of the new history and every change after it.
      const res = await fetch(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ stockLevels(first: 1) { feedCursor } }' }),
      });
      const fresh = ((await res.json()) as any).data.stockLevels.feedCursor as string;
      expect(fresh.split(':')[0]).not.toBe(lastCursor.split(':')[0]);
      const live = subscribeWs<Change>(client, CHANGES, { after: fresh, tables: ['customers'] }, 'changes');
      await sql(
        urlOf(restored),
        "UPDATE customers SET notes = 'after the restore' WHERE id = (SELECT id FROM customers ORDER BY id LIMIT 1)",
      );
      await waitFor(() => live.events.length >= 1, 10_000, 'a change after the restore');
      expect(live.events[0]?.data?.notes).toBe('after the restore');
      expect(live.errors).toEqual([]);
      live.stop();
      await client.dispose();
    } finally {
      await app.stop();
    }
  });

  it('refuses a damaged file and a file from a newer schema, creating nothing', async () => {
    const flipped = path.join(dir, 'flipped.backup.gz');
    await copyFile(file, flipped);
    const size = (await stat(flipped)).size;
    const handle = await open(flipped, 'r+');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, Math.floor(size / 2));
    byte[0] = (byte[0] as number) ^ 0xff;
    await handle.write(byte, 0, 1, Math.floor(size / 2));
    await handle.close();
    const cut = path.join(dir, 'cut.backup.gz');
    await writeFile(cut, (await readFile(file)).subarray(0, Math.floor(size * 0.7)));
    const notOne = path.join(dir, 'notes.txt');
    await writeFile(notOne, 'hello');

    for (const [bad, message] of [
      [flipped, /is damaged/],
      [cut, /is damaged: it is incomplete/],
      [notOne, /is not a Branchline backup/],
    ] as const) {
      const target = dbName(`bad${databases.length}`);
      const err = await restoreBackup({ file: bad, targetUrl: urlOf(target), log: testLog }).catch((e) => e);
      expect(err).toBeInstanceOf(BackupFileError);
      expect(err.message).toMatch(message);
      const exists = await admin((c) => c.query('SELECT 1 FROM pg_database WHERE datname = $1', [target]));
      expect(exists.rowCount).toBe(0);
    }

    // A backup of a database that a newer Branchline migrated.
    await sql(
      urlOf(restored),
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES (gen_random_uuid()::text, repeat('0', 64), '20991231000000_from_the_future', now(), now(), 1)`,
    );
    const newer = path.join(dir, 'newer.backup.gz');
    const made = await backupDatabase({ url: urlOf(restored), file: newer });
    expect(made.header.schemaVersion).toBe('20991231000000_from_the_future');
    const target = dbName('newer');
    const err = await restoreBackup({ file: newer, targetUrl: urlOf(target), log: testLog }).catch((e) => e);
    expect(err).toBeInstanceOf(RestoreError);
    expect(err.message).toMatch(/newer version of Branchline.*20991231000000_from_the_future/);
    const exists = await admin((c) => c.query('SELECT 1 FROM pg_database WHERE datname = $1', [target]));
    expect(exists.rowCount).toBe(0);
  });

  it('replaces a database that holds data only when asked, keeping the previous one', async () => {
    const target = dbName('replace');
    await restoreBackup({ file, targetUrl: urlOf(target), log: testLog });
    await sql(urlOf(target), "UPDATE branches SET name = 'changed since' WHERE code = 'HB'");
    const refused = await restoreBackup({ file, targetUrl: urlOf(target), log: testLog }).catch((e) => e);
    expect(refused).toBeInstanceOf(RestoreError);
    expect(refused.message).toMatch(/already holds data/);

    const holder = new pg.Client({ connectionString: urlOf(target), application_name: 'a running server' });
    await holder.connect();
    const busy = await restoreBackup({ file, targetUrl: urlOf(target), replace: true, log: testLog }).catch(
      (e) => e,
    );
    await holder.end();
    expect(busy.message).toMatch(/connection\(s\) are open to database .*a running server.*stop Branchline/);

    const result = await restoreBackup({ file, targetUrl: urlOf(target), replace: true, log: testLog });
    expect(result.previous).toMatch(new RegExp(`^${target}_before_\\d{8}_\\d{6}$`));
    databases.push(result.previous as string);
    const [now] = await sql<{ name: string }>(urlOf(target), "SELECT name FROM branches WHERE code = 'HB'");
    const [kept] = await sql<{ name: string }>(
      urlOf(result.previous as string),
      "SELECT name FROM branches WHERE code = 'HB'",
    );
    expect(now?.name).not.toBe('changed since');
    expect(kept?.name).toBe('changed since');
  });
});

describe('a backup from an older schema', () => {
  it('is restored at its own schema, then migrated to the current one', async () => {
    const name = dbName('old');
    await admin((c) => c.query(`CREATE DATABASE ${name}`));
    await migrate(urlOf(name), { log: testLog, select: (m) => m <= '20261126000000_feed_history' });
    await sql(urlOf(name), "INSERT INTO branches (code, name) VALUES ('OLD', 'Old branch')");
    const file = path.join(dir, 'old.backup.gz');
    const made = await backupDatabase({ url: urlOf(name), file });
    expect(made.header.schemaVersion).toBe('20261126000000_feed_history');

    const target = dbName('old_restored');
    const result = await restoreBackup({ file, targetUrl: urlOf(target), log: testLog });
    expect(result.migrated.length).toBeGreaterThan(0);
    expect(result.migrated).toContain('20261128120000_backup_runs');
    const [branch] = await sql<{ name: string }>(
      urlOf(target),
      "SELECT name FROM branches WHERE code = 'OLD'",
    );
    expect(branch?.name).toBe('Old branch');
    const applied = await sql<{ n: number }>(
      urlOf(target),
      'SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL',
    );
    expect(applied[0]?.n).toBe((await readMigrations()).length);
  });
});

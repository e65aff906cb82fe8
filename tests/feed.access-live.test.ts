/**
 * Access follows changes live (DESIGN.md "Authorization"): when a token is revoked or expires, a
 * session ends, a user is deactivated, or a user's role or branches change, every open
 * subscription of that user ends (UNAUTHENTICATED, FORBIDDEN) or continues under the new rights,
 * and never receives one more change under the old ones.
 *
 * Two server processes share one database: access changes go through process A (its API, or SQL
 * where the API has no mutation for them), subscribers sit on process B (graphql-ws, grouped and
 * not, and SSE). Each case commits, after the access change, a change only the old rights could
 * see and one the new rights can see (often in the same transaction as the access change, right
 * behind it), then a last marker; delivery is in feed order, so once the marker has arrived (or
 * the subscription has ended) everything before it has been decided.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../src/auth/tokens.ts';
import { type Viewer, viewerOfToken } from '../src/auth/viewer.ts';
import { encodeCursor, SNAPSHOT_POSITION_SQL } from '../src/listeners/cursor.ts';
import { type GrantHolder, Grants } from '../src/listeners/grants.ts';
import type { ChangeRow } from '../src/listeners/reader.ts';
import { createTestDatabase, type TestDatabase, testLog } from './helpers/db.ts';
import {
  CHANGES,
  type Change,
  type Collector,
  subscribeSse,
  subscribeWs,
  tokenFor,
  waitFor,
  wsClient,
} from './helpers/feed.ts';
import { freePort } from './helpers/ports.ts';
import { type ServerProcess, startServerProcess } from './helpers/process.ts';

let db: TestDatabase;
let a: ServerProcess;
let b: ServerProcess;
let admin: string;
let branches: Record<string, string>;
const clients: { dispose(): unknown }[] = [];
const collectors: Collector[] = [];

const DASHBOARD = 'subscription ($b: ID!) { dashboard(branchId: $b) { branchId orderCount at } }';
const STOCK_LEVELS = 'subscription ($b: ID!) { stockLevels(branchId: $b) { id version } }';

async function gqlOn(
  server: ServerProcess,
  query: string,
  variables: Record<string, unknown>,
  token: string,
) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: any[] };
}

async function cursorNow(): Promise<string> {
  const { rows } = await db.pool.query(SNAPSHOT_POSITION_SQL);
  return encodeCursor(rows[0]);
}

async function userId(email: string): Promise<string> {
  const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [email]);
  return rows[0]?.id as string;
}

/** A new user with a session token (role and branches as given). */
async function newUser(email: string, role: string, branchCodes: string[]): Promise<string> {
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO users (name, email, password_hash, role) VALUES ($1, $1, 'x', $2) RETURNING id`,
    [email, role],
  );
  for (const code of branchCodes) {
    await db.pool.query('INSERT INTO user_branches (user_id, branch_id) VALUES ($1, $2)', [
      rows[0]?.id,
      branches[code],
    ]);
  }
  return tokenFor(db.pool, email);
}

/** Moves one stock level of a branch (a change every viewer of that branch sees); its `id:version`. */
async function bump(q: pg.Pool | pg.PoolClient, code: string, k = 0): Promise<string> {
  const { rows } = await q.query<{ id: string; version: number }>(
    `UPDATE stock_levels SET reorder_level = reorder_level + 1
      WHERE id = (SELECT id FROM stock_levels WHERE branch_id = $1 ORDER BY id OFFSET $2 LIMIT 1)
      RETURNING id, version`,
    [branches[code], k],
  );
  return `${rows[0]?.id}:${rows[0]?.version}`;
}

/** Runs `fn` in one transaction on the test's pool. */
async function tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await db.pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK');
    throw err;
  } finally {
    c.release();
  }
}

const keys = (c: Collector<Change>) => c.events.map((e) => `${e.rowId}:${e.version}`);
const has = (c: Collector<Change>, key: string) => keys(c).includes(key);
const codeOf = (c: Collector) => c.errors[0]?.extensions?.code as string | undefined;

function ws(token: string) {
  const client = wsClient(`${b.url.replace(/^http/, 'ws')}/graphql`, token);
  clients.push(client);
  return client;
}

function sub<T = Change>(
  transport: 'ws' | 'sse',
  token: string,
  query: string,
  variables: Record<string, unknown>,
  field: string,
): Collector<T> {
  const c =
    transport === 'ws'
      ? subscribeWs<T>(ws(token), query, variables, field)
      : subscribeSse<T>(`${b.url}/graphql`, token, query, variables, field);
  collectors.push(c as Collector);
  return c;
}

/** Subscribers of `changes` from a cursor, over graphql-ws (grouped) and SSE, live once `marker` arrived. */
async function feedSubscribers(token: string, variables: Record<string, unknown> = {}) {
  const after = await cursorNow();
  const w = sub('ws', token, CHANGES, { ...variables, after }, 'changes');
  const s = sub('sse', token, CHANGES, { ...variables, after }, 'changes');
  return { w, s };
}

/** Runs `open` and waits until B has registered `n` more subscriptions (those without a cursor). */
async function registered<T>(n: number, open: () => T): Promise<T> {
  const opened = async () =>
    (await gqlOn(b, '{ feedStatus { opened } }', {}, admin)).data?.feedStatus.opened as number;
  const before = await opened();
  const out = open();
  await waitFor(async () => (await opened()) >= before + n, 5000, 'the subscriptions to register');
  return out;
}

async function live(marker: string, ...cs: Collector<Change>[]) {
  await waitFor(() => cs.every((c) => has(c, marker) || c.errors.length > 0), 10_000, `marker ${marker}`);
  for (const c of cs) expect(c.errors, JSON.stringify(c.errors)).toEqual([]);
}

async function ended(code: string, ...cs: Collector[]) {
  await waitFor(() => cs.every((c) => c.errors.length > 0), 5000, `the subscriptions to end with ${code}`);
  for (const c of cs) expect(codeOf(c), JSON.stringify(c.errors)).toBe(code);
}

beforeAll(async () => {
  db = await createTestDatabase({ seed: true });
  const rows = (await db.pool.query<{ code: string; id: string }>('SELECT code, id FROM branches')).rows;
  branches = Object.fromEntries(rows.map((r) => [r.code, r.id]));
  admin = await tokenFor(db.pool, 'admin@example.com');
  [a, b] = await Promise.all([
    startServerProcess(db.url, await freePort()),
    startServerProcess(db.url, await freePort()),
  ]);
});

afterAll(async () => {
  for (const c of collectors) c.stop();
  for (const c of clients) await c.dispose();
  await Promise.all([a?.kill(), b?.kill()]);
  await db?.drop();
});

describe('access follows changes live, across two server processes', () => {
  it('a revoked API token (revokeApiToken on A) ends its subscriptions on B: UNAUTHENTICATED, nothing more', async () => {
    const created = await gqlOn(
      a,
      `mutation ($u: ID!) { createApiToken(name: "sync", userId: $u) {
         ... on MutationCreateApiTokenSuccess { data { token apiToken { id } } } } }`,
      { u: await userId('manager.dt@example.com') },
      admin,
    );
    const { token, apiToken } = created.data.createApiToken.data;
    const { w, s } = await feedSubscribers(token, { tables: ['stock_levels'] });
    const d = sub('ws', token, DASHBOARD, { b: branches.DT }, 'dashboard');
    await live(await bump(db.pool, 'DT'), w, s);
    await waitFor(() => d.events.length > 0, 5000, 'the first figures');

    const revoked = await gqlOn(
      a,
      'mutation ($id: ID!) { revokeApiToken(id: $id) { __typename } }',
      { id: apiToken.id },
      admin,
    );
    expect(revoked.data.revokeApiToken.__typename).toBe('MutationRevokeApiTokenSuccess');
    const committed = Date.now();
    const x = await bump(db.pool, 'DT', 1);
    await ended('UNAUTHENTICATED', w, s, d);
    // Within a second of the revoke's commit (the mutation has answered), on the other process.
    expect(Date.now() - committed).toBeLessThan(1000);
    expect(has(w, x) || has(s, x)).toBe(false);
  });

  it('a session ended (logout on A; revoked_at set together with a change) ends its subscriptions before any later change', async () => {
    const token = await tokenFor(db.pool, 'clerk.hb@example.com');
    const other = await tokenFor(db.pool, 'clerk.hb@example.com');
    const { w, s } = await feedSubscribers(token);
    const o = await feedSubscribers(other);
    await live(await bump(db.pool, 'HB'), w, s, o.w, o.s);

    const out = await gqlOn(a, 'mutation { logout { __typename } }', {}, token);
    expect(out.data?.logout.__typename).toBe('MutationLogoutSuccess');
    const x = await bump(db.pool, 'HB', 1);
    await ended('UNAUTHENTICATED', w, s);
    expect(has(w, x) || has(s, x)).toBe(false);

    // The user's other session is untouched until it ends too, in the same transaction as a change.
    await live(x, o.w, o.s);
    const y = await tx(async (c) => {
      await c.query('UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1', [hashToken(other)]);
      return bump(c, 'HB', 2);
    });
    const later = await bump(db.pool, 'HB', 3);
    await ended('UNAUTHENTICATED', o.w, o.s);
    for (const k of [y, later]) expect(has(o.w, k) || has(o.s, k)).toBe(false);
  });

  it('a deactivated user loses every subscription at once, grouped or not', async () => {
    const token = await tokenFor(db.pool, 'manager.ng@example.com');
    const { w, s } = await feedSubscribers(token, { tables: ['stock_levels'] });
    // A literal cursor is not grouped: this one runs on its own (as SSE does).
    const ungrouped = sub(
      'ws',
      token,
      `subscription { changes(after: ${JSON.stringify(await cursorNow())}, tables: ["stock_levels"]) { rowId version } }`,
      {},
      'changes',
    );
    await live(await bump(db.pool, 'NG'), w, s, ungrouped);
    const typed = await registered(1, () =>
      sub('sse', token, STOCK_LEVELS, { b: branches.NG }, 'stockLevels'),
    );
    const x = await tx(async (c) => {
      await c.query("UPDATE users SET active = false WHERE email = 'manager.ng@example.com'");
      return bump(c, 'NG', 1);
    });
    await ended('UNAUTHENTICATED', w, s, ungrouped, typed);
    expect(has(w, x) || has(s, x)).toBe(false);
    expect(typed.events.some((e: any) => `${e.id}:${e.version}` === x)).toBe(false);
    await db.pool.query("UPDATE users SET active = true WHERE email = 'manager.ng@example.com'");
  });

  it('an ADMIN demoted to CLERK of one branch continues with the new scope; what it may no longer watch ends with FORBIDDEN', async () => {
    const token = await newUser('admin2@example.com', 'ADMIN', []);
    const id2 = await userId('admin2@example.com');
    const { w, s } = await feedSubscribers(token);
    // The original admin's identical subscription shares admin2's group on B and must not notice.
    const control = sub('ws', admin, CHANGES, { after: await cursorNow() }, 'changes');
    const dashNg = sub('ws', token, DASHBOARD, { b: branches.NG }, 'dashboard');
    const dashNgSse = sub('sse', token, DASHBOARD, { b: branches.NG }, 'dashboard');
    const dashHb = sub('ws', token, DASHBOARD, { b: branches.HB }, 'dashboard');
    await live(await bump(db.pool, 'NG'), w, s, control);
    await waitFor(() => [dashNg, dashNgSse, dashHb].every((d) => d.events.length > 0), 5000, 'figures');
    const ng = await registered(1, () => sub('ws', token, CHANGES, { branchId: branches.NG }, 'changes'));

    // Demoted through A's API (updateUser: role and branches in one transaction), then a change
    // only the old rights see, one of the users table, and one the new rights see.
    const { rows } = await db.pool.query<{ version: number }>('SELECT version FROM users WHERE id = $1', [
      id2,
    ]);
    const demoted = await gqlOn(
      a,
      `mutation ($id: ID!, $v: Int!, $b: [ID!]) {
         updateUser(id: $id, expectedVersion: $v, patch: { role: CLERK, branchIds: $b }) { __typename } }`,
      { id: id2, v: rows[0]?.version, b: [branches.HB] },
      admin,
    );
    expect(demoted.data?.updateUser.__typename).toBe('MutationUpdateUserSuccess');
    const [x, xUser, y] = await tx(async (c) => {
      const x = await bump(c, 'NG', 1);
      const u = await c.query<{ id: string; version: number }>(
        "UPDATE users SET name = name || '.' WHERE email = 'clerk.dt@example.com' RETURNING id, version",
      );
      return [x, `${u.rows[0]?.id}:${u.rows[0]?.version}`, await bump(c, 'HB', 1)];
    });
    const hbFiguresBefore = dashHb.events.length;
    const z = await bump(db.pool, 'HB', 2);
    await live(z, w, s);
    await ended('FORBIDDEN', dashNg, dashNgSse, ng);
    for (const c of [w, s]) {
      expect(has(c, x) || has(c, xUser), JSON.stringify(keys(c))).toBe(false);
      expect(has(c, y)).toBe(true);
      const after = c.events.slice(c.events.findIndex((e) => `${e.rowId}:${e.version}` === y));
      expect(after.every((e) => e.table === 'stock_levels' && e.branchId === branches.HB)).toBe(true);
    }
    // The untouched admin of the same group got everything, in order.
    await live(z, control);
    for (const k of [x, xUser, y, z]) expect(has(control, k)).toBe(true);
    // Still allowed: the dashboard of the new branch goes on.
    await waitFor(() => dashHb.events.length > hbFiguresBefore, 5000, 'new HB figures');
    expect(dashHb.errors).toEqual([]);
  });

  it('a clerk moved to another branch: the feed follows the move, the old branch ends with FORBIDDEN', async () => {
    const token = await newUser('clerk2.dt@example.com', 'CLERK', ['DT']);
    const id2 = await userId('clerk2.dt@example.com');
    const manager = await tokenFor(db.pool, 'manager.dt@example.com');
    const { w, s } = await feedSubscribers(token, { tables: ['stock_levels'] });
    const control = sub(
      'ws',
      manager,
      CHANGES,
      { tables: ['stock_levels'], after: await cursorNow() },
      'changes',
    );
    const dashDt = sub('sse', token, DASHBOARD, { b: branches.DT }, 'dashboard');
    await live(await bump(db.pool, 'DT', 3), w, s, control);
    await waitFor(() => dashDt.events.length > 0, 5000, 'the first figures');
    const [typedDt, typedDtSse] = await registered(2, () => [
      sub('ws', token, STOCK_LEVELS, { b: branches.DT }, 'stockLevels'),
      sub('sse', token, STOCK_LEVELS, { b: branches.DT }, 'stockLevels'),
    ]);
    await bump(db.pool, 'DT', 3);
    await waitFor(() => typedDt.events.length > 0 && typedDtSse.events.length > 0, 5000, 'typed events');

    const [x, y] = await tx(async (c) => {
      await c.query('UPDATE user_branches SET branch_id = $3 WHERE user_id = $1 AND branch_id = $2', [
        id2,
        branches.DT,
        branches.HB,
      ]);
      return [await bump(c, 'DT', 4), await bump(c, 'HB', 4)];
    });
    const z = await bump(db.pool, 'HB', 5);
    await live(z, w, s);
    await ended('FORBIDDEN', typedDt, typedDtSse, dashDt);
    for (const c of [w, s]) {
      expect(has(c, x)).toBe(false);
      expect(has(c, y)).toBe(true);
    }
    for (const c of [typedDt, typedDtSse]) {
      expect(c.events.some((e: any) => `${e.id}:${e.version}` === x)).toBe(false);
    }
    await live(x, control);
  });

  it('a token that expires ends its subscriptions when it expires', async () => {
    const token = await tokenFor(db.pool, 'clerk.ng@example.com');
    await db.pool.query(
      "UPDATE api_tokens SET expires_at = now() + interval '1.5 seconds' WHERE token_hash = $1",
      [hashToken(token)],
    );
    const { w, s } = await feedSubscribers(token);
    const d = sub('ws', token, DASHBOARD, { b: branches.NG }, 'dashboard');
    await live(await bump(db.pool, 'NG', 6), w, s);
    const started = Date.now();
    await ended('UNAUTHENTICATED', w, s, d);
    expect(Date.now() - started).toBeLessThan(2500);
    const x = await bump(db.pool, 'NG', 7);
    await new Promise((r) => setTimeout(r, 300));
    expect(has(w, x) || has(s, x)).toBe(false);
  });
});

describe("what the feed's rows carry", () => {
  it('users, memberships and tokens never reach non-admins; no hashes; a home branch the viewer may not see is null', async () => {
    const clerk = await tokenFor(db.pool, 'clerk.dt@example.com');
    const managerHb = await tokenFor(db.pool, 'manager.hb@example.com');
    const after = await cursorNow();
    const c = sub('ws', clerk, CHANGES, { after }, 'changes');
    const cSse = sub('sse', clerk, CHANGES, { after }, 'changes');
    const m = sub('sse', managerHb, CHANGES, { after }, 'changes');
    const ad = sub('ws', admin, CHANGES, { after }, 'changes');
    const uid = await userId('clerk.ng@example.com');
    const customerId = await tx(async (q) => {
      await q.query("UPDATE users SET name = name || '!', password_hash = 'scrypt$secret' WHERE id = $1", [
        uid,
      ]);
      await q.query('INSERT INTO user_branches (user_id, branch_id) VALUES ($1, $2)', [uid, branches.DT]);
      await q.query(
        "INSERT INTO api_tokens (user_id, kind, name, token_hash) VALUES ($1, 'API', 't', 'deadbeef')",
        [uid],
      );
      const cu = await q.query<{ id: string }>(
        "INSERT INTO customers (name, home_branch_id) VALUES ('Home HB', $1) RETURNING id",
        [branches.HB],
      );
      return cu.rows[0]?.id as string;
    });
    const marker = await bump(db.pool, 'DT', 8);
    await live(marker, c, cSse, ad);
    await waitFor(() => m.events.some((e) => e.table === 'customers'), 5000, 'the HB manager');
    for (const x of [c, cSse]) {
      expect(x.events.filter((e) => ['users', 'user_branches', 'api_tokens'].includes(e.table))).toEqual([]);
      expect(x.events.find((e) => e.table === 'customers')?.data).toMatchObject({
        name: 'Home HB',
        home_branch_id: null,
      });
    }
    expect(m.events.find((e) => e.table === 'customers')?.data?.home_branch_id).toBe(branches.HB);
    const tables = ad.events.map((e) => e.table);
    expect(tables).toEqual(expect.arrayContaining(['users', 'user_branches', 'api_tokens', 'customers']));
    const membership = ad.events.find((e) => e.table === 'user_branches');
    expect(membership).toMatchObject({ op: 'INSERT', rowId: uid, branchId: branches.DT });
    const text = JSON.stringify(ad.events);
    expect(text).not.toMatch(/password_hash|token_hash|scrypt\$|deadbeef/);
    // The record's history shows the same image.
    const history = 'query ($id: ID!) { history(table: CUSTOMERS, id: $id) { values } }';
    const seen = async (token: string) =>
      (await gqlOn(a, history, { id: customerId }, token)).data?.history[0]?.values.homeBranchId;
    expect(await seen(clerk)).toBeNull();
    expect(await seen(managerHb)).toBe(branches.HB);
  });
});

describe('grants (in process)', () => {
  function holder(log: string[], resumed: Viewer[] = []): GrantHolder {
    return {
      hold: () => log.push('hold'),
      resume: (viewer, turn) => {
        resumed.push(viewer);
        if (turn.commit()) log.push('resume');
        return null;
      },
      end: (err) => log.push(`end:${err.extensions.code}`),
    };
  }

  it('rights read before an access change this process already handled start held and are read again', async () => {
    const token = await newUser('gap@example.com', 'CLERK', ['HB']);
    const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM api_tokens WHERE token_hash = $1', [
      hashToken(token),
    ]);
    const tokenId = rows[0]?.id as string;
    const stale = (await viewerOfToken(db.pool, tokenId)) as Viewer;
    const grants = new Grants(db.pool, testLog);
    try {
      // The user moves to NG; the hub hands the change to the grants before this subscription registers.
      await db.pool.query('UPDATE user_branches SET branch_id = $2 WHERE user_id = $1', [
        stale.userId,
        branches.NG,
      ]);
      grants.apply({ tbl: 'user_branches', op: 'I', rowId: stale.userId } as ChangeRow);
      const log: string[] = [];
      const resumed: Viewer[] = [];
      grants.attach(stale, holder(log, resumed));
      expect(log).toEqual(['hold']);
      await waitFor(() => log.length === 2, 5000, 'the re-check');
      expect(log).toEqual(['hold', 'resume']);
      expect(resumed[0]?.branchIds).toEqual([branches.NG]);

      // Rights read after the change are not held.
      const fresh = (await viewerOfToken(db.pool, tokenId)) as Viewer;
      const freshLog: string[] = [];
      grants.attach(fresh, holder(freshLog));
      expect(freshLog).toEqual([]);

      // A token past its expiry ends before the next batch is delivered, timer or not.
      const expiredLog: string[] = [];
      grants.attach({ ...fresh, expiresAt: new Date(Date.now() - 1) }, holder(expiredLog));
      grants.beforeDeliver();
      expect(expiredLog).toEqual(['end:UNAUTHENTICATED']);
    } finally {
      grants.stop();
    }
  });
});

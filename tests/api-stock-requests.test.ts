/**
 * Stock between branches: request -> approve (all or part) or decline -> in transit -> received;
 * versioned steps, idempotent replays, conservation of stock across a transfer in transit, who
 * may take which step, who sees a request (queries and the feed).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, ok, type Sample, sample, typename } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
let s: Sample;
let admin: string;
let mgrDT: string;
let mgrHB: string;
let mgrNG: string;
let clerkDT: string;
beforeAll(async () => {
  t = await startTestApp({ seed: true });
  s = await sample(t);
  [admin, mgrDT, mgrHB, mgrNG, clerkDT] = await Promise.all(
    [
      'admin@example.com',
      'manager.dt@example.com',
      'manager.hb@example.com',
      'manager.ng@example.com',
      'clerk.dt@example.com',
    ].map((e) => login(t, e)),
  );
});
afterAll(async () => {
  await t?.stop();
});

const FIELDS =
  'id status quantity approvedQuantity inTransit version branchName fromBranchName note responseNote';
const RESULT = `__typename
  ... on VersionConflict { changedFields current { ... on StockRequest { status version } } }
  ... on Error { message }`;
const REQUEST = `mutation ($b: ID!, $f: ID!, $p: ID!, $q: Int!, $note: String, $key: String) {
  requestStock(branchId: $b, fromBranchId: $f, productId: $p, quantity: $q, note: $note, idempotencyKey: $key) {
    __typename ... on Error { message } ... on MutationRequestStockSuccess { data { ${FIELDS} } } } }`;
const APPROVE = `mutation ($id: ID!, $v: Int!, $q: Int, $key: String) {
  approveStockRequest(id: $id, expectedVersion: $v, quantity: $q, idempotencyKey: $key) {
    ${RESULT} ... on InsufficientStock { available } ... on MutationApproveStockRequestSuccess { data { ${FIELDS} } } } }`;
const DECLINE = `mutation ($id: ID!, $v: Int!) { declineStockRequest(id: $id, expectedVersion: $v, note: "none spare") {
    ${RESULT} ... on MutationDeclineStockRequestSuccess { data { ${FIELDS} } } } }`;
const RECEIVE = `mutation ($id: ID!, $v: Int!, $key: String) {
  receiveStockRequest(id: $id, expectedVersion: $v, idempotencyKey: $key) {
    ${RESULT} ... on MutationReceiveStockRequestSuccess { data { ${FIELDS} } } } }`;
const CANCEL = `mutation ($id: ID!, $v: Int!) { cancelStockRequest(id: $id, expectedVersion: $v) {
    ${RESULT} ... on MutationCancelStockRequestSuccess { data { ${FIELDS} } } } }`;
const LIST = `query ($b: ID!) { stockRequests(branchId: $b, first: 50) { edges { node { id status inTransit } } } }`;
const ADJUST = `mutation ($b: ID!, $p: ID!, $d: Int!) { adjustStock(branchId: $b, productId: $p, delta: $d, reason: "test") {
  __typename } }`;

interface Req {
  id: string;
  status: string;
  quantity: number;
  approvedQuantity: number | null;
  inTransit: number;
  version: number;
}

async function stock(branchId: string, productId: string) {
  const { rows } = await t.db.pool.query(
    `SELECT coalesce((SELECT quantity FROM stock_levels WHERE branch_id = $1 AND product_id = $2), 0)::int AS quantity,
            (SELECT coalesce(sum(delta), 0)::int FROM stock_movements WHERE branch_id = $1 AND product_id = $2) AS ledger`,
    [branchId, productId],
  );
  return rows[0] as { quantity: number; ledger: number };
}

/** Sets a product's stock at a branch to `q` (admin adjustment). */
async function setStock(branchId: string, productId: string, q: number) {
  const { quantity } = await stock(branchId, productId);
  if (quantity !== q)
    expect(
      typename(await t.gql(ADJUST, { b: branchId, p: productId, d: q - quantity }, admin), 'adjustStock'),
    ).toBe('MutationAdjustStockSuccess');
}

/** Stock of a product on hand at every branch plus in transit between them. */
async function total(productId: string) {
  const { rows } = await t.db.pool.query(
    `SELECT (SELECT coalesce(sum(quantity), 0) FROM stock_levels WHERE product_id = $1)::int AS on_hand,
            (SELECT coalesce(sum(approved_quantity), 0) FROM stock_requests
              WHERE product_id = $1 AND status = 'IN_TRANSIT')::int AS in_transit`,
    [productId],
  );
  return rows[0] as { on_hand: number; in_transit: number };
}

const ask = async (q: number, p: string, token = mgrDT, from = s.branches.HB) =>
  ok<Req>(
    await t.gql(REQUEST, { b: s.branches.DT, f: from, p, q, note: 'short for the weekend' }, token),
    'requestStock',
  );

describe('stock requests', () => {
  it('request -> partial approval (TRANSFER_OUT, in transit) -> receipt (TRANSFER_IN), stock conserved', async () => {
    const p = s.productIds[40];
    await setStock(s.branches.HB, p, 30);
    await setStock(s.branches.DT, p, 2);
    const before = await total(p);
    const r = await ask(20, p);
    expect(r).toMatchObject({
      status: 'REQUESTED',
      quantity: 20,
      approvedQuantity: null,
      inTransit: 0,
      version: 1,
    });
    expect(await total(p)).toEqual(before);

    const approved = ok<Req>(
      await t.gql(APPROVE, { id: r.id, v: r.version, q: 12 }, mgrHB),
      'approveStockRequest',
    );
    expect(approved).toMatchObject({ status: 'IN_TRANSIT', approvedQuantity: 12, inTransit: 12, version: 2 });
    expect(await stock(s.branches.HB, p)).toEqual({ quantity: 18, ledger: 18 });
    expect(await stock(s.branches.DT, p)).toEqual({ quantity: 2, ledger: 2 });
    const inTransit = await total(p);
    expect(inTransit.in_transit).toBe(12);
    expect(inTransit.on_hand + inTransit.in_transit).toBe(before.on_hand + before.in_transit);

    // Both branches see it in transit.
    for (const [b, token] of [
      [s.branches.DT, mgrDT],
      [s.branches.HB, mgrHB],
    ] as const) {
      const list = await t.gql(LIST, { b }, token);
      expect(list.errors).toBeUndefined();
      expect(list.data?.stockRequests.edges.map((e: { node: Req }) => e.node)).toContainEqual({
        id: r.id,
        status: 'IN_TRANSIT',
        inTransit: 12,
      });
    }

    const received = ok<Req>(
      await t.gql(RECEIVE, { id: r.id, v: approved.version }, mgrDT),
      'receiveStockRequest',
    );
    expect(received).toMatchObject({ status: 'RECEIVED', inTransit: 0, version: 3 });
    expect(await stock(s.branches.DT, p)).toEqual({ quantity: 14, ledger: 14 });
    const after = await total(p);
    expect(after).toEqual({ on_hand: before.on_hand, in_transit: 0 });
    const moves = await t.db.pool.query(
      'SELECT branch_id, kind, delta FROM stock_movements WHERE transfer_id = $1 ORDER BY created_at, kind',
      [r.id],
    );
    expect(moves.rows).toEqual([
      { branch_id: s.branches.HB, kind: 'TRANSFER_OUT', delta: -12 },
      { branch_id: s.branches.DT, kind: 'TRANSFER_IN', delta: 12 },
    ]);
  });

  it('approval of everything by default; a stale version is a VersionConflict and changes nothing', async () => {
    const p = s.productIds[41];
    await setStock(s.branches.HB, p, 10);
    const r = await ask(4, p);
    const stale = await t.gql(DECLINE, { id: r.id, v: r.version + 1 }, mgrHB);
    expect(typename(stale, 'declineStockRequest')).toBe('VersionConflict');
    const a = ok<Req>(await t.gql(APPROVE, { id: r.id, v: r.version }, mgrHB), 'approveStockRequest');
    expect(a).toMatchObject({ status: 'IN_TRANSIT', approvedQuantity: 4 });
    const again = await t.gql(APPROVE, { id: r.id, v: r.version }, mgrHB);
    expect(again.data?.approveStockRequest).toMatchObject({
      __typename: 'VersionConflict',
      changedFields: expect.arrayContaining(['status', 'approvedQuantity']),
      current: { status: 'IN_TRANSIT', version: 2 },
    });
    expect(await stock(s.branches.HB, p)).toEqual({ quantity: 6, ledger: 6 });
    // The right version but the wrong step: a ValidationError naming the status.
    const twice = await t.gql(APPROVE, { id: r.id, v: a.version }, mgrHB);
    expect(twice.data?.approveStockRequest).toMatchObject({
      __typename: 'ValidationError',
      message: 'Stock request is IN_TRANSIT',
    });
    expect(await stock(s.branches.HB, p)).toEqual({ quantity: 6, ledger: 6 });
  });

  it('is idempotent: a replayed approval or receipt moves stock once', async () => {
    const p = s.productIds[42];
    await setStock(s.branches.HB, p, 9);
    await setStock(s.branches.DT, p, 0);
    const key = randomUUID();
    const first = await t.gql(REQUEST, { b: s.branches.DT, f: s.branches.HB, p, q: 5, key }, mgrDT);
    const repeat = await t.gql(REQUEST, { b: s.branches.DT, f: s.branches.HB, p, q: 5, key }, mgrDT);
    const r = ok<Req>(first, 'requestStock');
    expect(ok<Req>(repeat, 'requestStock').id).toBe(r.id);
    const approveKey = randomUUID();
    const a1 = ok<Req>(
      await t.gql(APPROVE, { id: r.id, v: 1, key: approveKey }, mgrHB),
      'approveStockRequest',
    );
    const a2 = ok<Req>(
      await t.gql(APPROVE, { id: r.id, v: 1, key: approveKey }, mgrHB),
      'approveStockRequest',
    );
    expect(a2).toEqual(a1);
    const receiveKey = randomUUID();
    ok(await t.gql(RECEIVE, { id: r.id, v: a1.version, key: receiveKey }, mgrDT), 'receiveStockRequest');
    ok(await t.gql(RECEIVE, { id: r.id, v: a1.version, key: receiveKey }, mgrDT), 'receiveStockRequest');
    expect(await stock(s.branches.HB, p)).toEqual({ quantity: 4, ledger: 4 });
    expect(await stock(s.branches.DT, p)).toEqual({ quantity: 5, ledger: 5 });
    const { rows } = await t.db.pool.query(
      'SELECT count(*)::int AS n FROM stock_requests WHERE product_id = $1',
      [p],
    );
    expect(rows[0].n).toBe(1);
  });

  it('decline and cancel end a request; a declined request cannot be received; never below zero', async () => {
    const p = s.productIds[43];
    await setStock(s.branches.HB, p, 3);
    const r = await ask(5, p);
    const short = await t.gql(APPROVE, { id: r.id, v: r.version }, mgrHB);
    expect(short.data?.approveStockRequest).toMatchObject({ __typename: 'InsufficientStock', available: 3 });
    const d = ok<Req>(await t.gql(DECLINE, { id: r.id, v: r.version }, mgrHB), 'declineStockRequest');
    expect(d).toMatchObject({ status: 'DECLINED', version: 2 });
    const recv = await t.gql(RECEIVE, { id: r.id, v: d.version }, mgrDT);
    expect(recv.data?.receiveStockRequest).toMatchObject({ __typename: 'ValidationError' });
    const c = await ask(1, p);
    expect(ok<Req>(await t.gql(CANCEL, { id: c.id, v: c.version }, mgrDT), 'cancelStockRequest').status).toBe(
      'CANCELLED',
    );
    expect(await stock(s.branches.HB, p)).toEqual({ quantity: 3, ledger: 3 });
  });

  it('role rules: each side takes only its own steps; clerks none; admins any; other branches see nothing', async () => {
    const p = s.productIds[44];
    await setStock(s.branches.HB, p, 10);
    expect(
      typename(
        await t.gql(REQUEST, { b: s.branches.DT, f: s.branches.HB, p, q: 1 }, clerkDT),
        'requestStock',
      ),
    ).toBe('Forbidden');
    // A manager asks only for their own branch.
    const forOther = await t.gql(REQUEST, { b: s.branches.NG, f: s.branches.HB, p, q: 1 }, mgrDT);
    expect(typename(forOther, 'requestStock')).toBe('NotFound');
    const r = await ask(2, p);
    // The asking branch cannot approve its own request; another branch's manager cannot see it.
    expect(typename(await t.gql(APPROVE, { id: r.id, v: r.version }, mgrDT), 'approveStockRequest')).toBe(
      'Forbidden',
    );
    expect(typename(await t.gql(APPROVE, { id: r.id, v: r.version }, mgrNG), 'approveStockRequest')).toBe(
      'NotFound',
    );
    expect(typename(await t.gql(APPROVE, { id: r.id, v: r.version }, clerkDT), 'approveStockRequest')).toBe(
      'Forbidden',
    );
    const ng = await t.gql(LIST, { b: s.branches.NG }, mgrNG);
    expect(ng.data?.stockRequests.edges.map((e: { node: Req }) => e.node.id)).not.toContain(r.id);
    const a = ok<Req>(await t.gql(APPROVE, { id: r.id, v: r.version }, admin), 'approveStockRequest');
    // The branch asked cannot confirm receipt for the asking branch.
    expect(typename(await t.gql(RECEIVE, { id: r.id, v: a.version }, mgrHB), 'receiveStockRequest')).toBe(
      'Forbidden',
    );
    ok(await t.gql(RECEIVE, { id: r.id, v: a.version }, admin), 'receiveStockRequest');
  });

  it('the feed shows a request to both branches and to no other', async () => {
    const p = s.productIds[45];
    const r = await ask(1, p);
    const CHANGES = `query ($b: ID!) { stockRequests(branchId: $b) { feedCursor } }`;
    const cursor = (await t.gql(CHANGES, { b: s.branches.DT }, admin)).data?.stockRequests.feedCursor;
    expect(cursor).toBeTruthy();
    const { rows } = await t.db.pool.query(
      "SELECT branch_id, data->>'from_branch_id' AS from_branch FROM change_log WHERE tbl = 'stock_requests' AND row_id = $1",
      [r.id],
    );
    expect(rows[0]).toEqual({ branch_id: s.branches.DT, from_branch: s.branches.HB });
    const { accessScope, concernsBranch } = await import('../src/listeners/access.ts');
    const row = {
      tbl: 'stock_requests',
      branchId: s.branches.DT,
      data: { from_branch_id: s.branches.HB },
    } as never;
    const viewer = (branchIds: string[]) => ({ userId: randomUUID(), role: 'MANAGER', branchIds }) as never;
    expect(accessScope(viewer([s.branches.DT])).canSee(row)).toBe(true);
    expect(accessScope(viewer([s.branches.HB])).canSee(row)).toBe(true);
    expect(accessScope(viewer([s.branches.NG])).canSee(row)).toBe(false);
    expect(concernsBranch(row, s.branches.HB)).toBe(true);
    expect(concernsBranch(row, s.branches.NG)).toBe(false);
  });
});

describe('stock requests under concurrency', () => {
  it('ten simultaneous approvals of one request ship it once', async () => {
    const p = s.productIds[47];
    await setStock(s.branches.HB, p, 10);
    const r = await ask(3, p);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => t.gql(APPROVE, { id: r.id, v: r.version }, mgrHB)),
    );
    const kinds = results.map((x) => typename(x, 'approveStockRequest'));
    expect(kinds.filter((k) => k === 'MutationApproveStockRequestSuccess')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'VersionConflict')).toHaveLength(9);
    expect(await stock(s.branches.HB, p)).toEqual({ quantity: 7, ledger: 7 });
  });
});

describe('stock request history', () => {
  it('shows to both branches, not to a third', async () => {
    const r = await ask(1, s.productIds[46]);
    const HISTORY = `query ($id: ID!) { history(table: STOCK_REQUESTS, id: $id) { op version } }`;
    for (const token of [mgrDT, mgrHB, admin]) {
      expect((await t.gql(HISTORY, { id: r.id }, token)).data?.history).toEqual([
        { op: 'INSERT', version: 1 },
      ]);
    }
    expect((await t.gql(HISTORY, { id: r.id }, mgrNG)).data?.history).toEqual([]);
  });
});

describe('stock requests in the change feed', () => {
  it('reach both branches (also with changes(branchId) of the branch asked), live and in catch-up; no third branch', async () => {
    const { CHANGES, subscribeWs, waitFor, wsClient } = await import('./helpers/feed.ts');
    type Change = { table: string; rowId: string; cursor: string };
    const feed = t.app.services.feed;
    const cursorQuery = 'query ($b: ID!) { stockRequests(branchId: $b) { feedCursor } }';
    const before = (await t.gql(cursorQuery, { b: s.branches.DT }, admin)).data?.stockRequests.feedCursor;
    const [hb, ng, dt] = [wsClient(t.wsUrl, mgrHB), wsClient(t.wsUrl, mgrNG), wsClient(t.wsUrl, mgrDT)];
    const tables = ['stock_requests', 'products'];
    const opened = feed.opened;
    const asked = subscribeWs<Change>(hb, CHANGES, { tables, branchId: s.branches.HB }, 'changes');
    const third = subscribeWs<Change>(ng, CHANGES, { tables }, 'changes');
    const asking = subscribeWs<Change>(dt, CHANGES, { tables, branchId: s.branches.DT }, 'changes');
    await feed.waitFor((f: { opened: number }) => f.opened >= opened + 3);
    const r = await ask(1, s.productIds[48]);
    const marker = s.productIds[49];
    await t.db.pool.query("UPDATE products SET name = name || '~' WHERE id = $1", [marker]);
    const seen = (c: { events: Change[] }, id: string) => c.events.some((e) => e.rowId === id);
    await waitFor(() => [asked, third, asking].every((c) => seen(c, marker)), 10_000, 'the marker');
    expect(seen(asked, r.id)).toBe(true);
    expect(seen(asking, r.id)).toBe(true);
    expect(seen(third, r.id)).toBe(false);
    const replay = subscribeWs<Change>(
      hb,
      CHANGES,
      { tables, branchId: s.branches.HB, after: before },
      'changes',
    );
    await waitFor(() => seen(replay, marker), 10_000, 'catch-up');
    expect(seen(replay, r.id)).toBe(true);
    for (const c of [asked, third, asking, replay]) c.stop();
    await Promise.all([hb.dispose(), ng.dispose(), dt.dispose()]);
  });
});

/** Quantities change only by movements: concurrency, never below zero, ledger = quantity. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, ok, type Sample, sample } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
let s: Sample;
let admin: string;
let clerk: string;
beforeAll(async () => {
  t = await startTestApp({ seed: true });
  s = await sample(t);
  [admin, clerk] = await Promise.all([login(t, 'admin@example.com'), login(t, 'clerk.dt@example.com')]);
});
afterAll(async () => {
  await t?.stop();
});

const RESULT = `__typename
  ... on InsufficientStock { productId branchId requested available }
  ... on Error { message }`;
const CONFLICT =
  '... on VersionConflict { changedFields current { ... on StockLevel { quantity version } } }';

const PLACE = `mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) {
  ${RESULT} ... on MutationPlaceOrderSuccess { data { number } } } }`;
const ADJUST = `mutation ($b: ID!, $p: ID!, $d: Int!) { adjustStock(branchId: $b, productId: $p, delta: $d, reason: "test") {
  ${RESULT} ... on MutationAdjustStockSuccess { data { quantity version } } } }`;
const TRANSFER = `mutation ($from: ID!, $to: ID!, $p: ID!, $q: Int!) {
  transferStock(fromBranchId: $from, toBranchId: $to, productId: $p, quantity: $q) {
    ${RESULT} ... on MutationTransferStockSuccess { data { from { quantity } to { quantity } } } } }`;

async function stock(branchId: string, productId: string) {
  const { rows } = await t.db.pool.query(
    `SELECT s.quantity, s.version, (SELECT coalesce(sum(delta), 0)::int FROM stock_movements m
             WHERE m.branch_id = s.branch_id AND m.product_id = s.product_id) AS ledger
       FROM stock_levels s WHERE branch_id = $1 AND product_id = $2`,
    [branchId, productId],
  );
  return rows[0] as { quantity: number; version: number; ledger: number };
}

describe('stock movements', () => {
  it('sells the last 7 units exactly once to 20 concurrent clients', async () => {
    const [b, p] = [s.branches.DT, s.productIds[20]];
    const before = await stock(b, p);
    ok(await t.gql(ADJUST, { b, p, d: 7 - before.quantity }, admin), 'adjustStock');
    const tills = await Promise.all(Array.from({ length: 4 }, () => login(t, 'clerk.dt@example.com')));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.gql(PLACE, { input: { branchId: b, items: [{ productId: p, quantity: 1 }] } }, tills[i % 4]),
      ),
    );
    for (const r of results) expect(r.errors).toBeUndefined();
    const sold = results.filter((r) => r.data?.placeOrder.__typename === 'MutationPlaceOrderSuccess');
    const refused = results.filter((r) => r.data?.placeOrder.__typename === 'InsufficientStock');
    expect(sold).toHaveLength(7);
    expect(refused).toHaveLength(13);
    for (const r of refused) {
      expect(r.data?.placeOrder).toMatchObject({ productId: p, branchId: b, requested: 1, available: 0 });
    }
    const after = await stock(b, p);
    expect(after.quantity).toBe(0);
    expect(after.ledger).toBe(0);
    const items = await t.db.pool.query(
      "SELECT coalesce(sum(quantity), 0)::int AS n FROM order_items WHERE branch_id = $1 AND product_id = $2 AND created_at > now() - interval '1 minute'",
      [b, p],
    );
    expect(items.rows[0].n).toBe(7);
  });

  it('runs opposite transfers concurrently without deadlock and conserves stock', async () => {
    const [a, b] = [s.branches.HB, s.branches.NG];
    const products = s.productIds.slice(30, 33);
    for (const p of products) {
      for (const br of [a, b]) {
        const q = (await stock(br, p)).quantity;
        ok(await t.gql(ADJUST, { b: br, p, d: 50 - q }, admin), 'adjustStock');
      }
    }
    const total = async () =>
      (
        await t.db.pool.query(
          'SELECT sum(quantity)::int AS n FROM stock_levels WHERE product_id = ANY($1) AND branch_id = ANY($2)',
          [products, [a, b]],
        )
      ).rows[0].n;
    expect(await total()).toBe(300);
    const jobs = Array.from({ length: 40 }, (_, i) => {
      const p = products[i % 3];
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
      return t.gql(TRANSFER, { from, to, p, q: 1 + (i % 4) }, admin);
    });
    const results = await Promise.all(jobs);
    for (const r of results) {
      expect(r.errors).toBeUndefined();
      expect(r.data?.transferStock.__typename).toBe('MutationTransferStockSuccess');
    }
    expect(await total()).toBe(300);
    for (const p of products) {
      for (const br of [a, b]) {
        const st = await stock(br, p);
        expect(st.quantity).toBe(st.ledger);
      }
    }
    const moves = await t.db.pool.query(
      `SELECT count(DISTINCT transfer_id)::int AS transfers, sum(delta)::int AS net FROM stock_movements
        WHERE kind IN ('TRANSFER_OUT', 'TRANSFER_IN') AND product_id = ANY($1)`,
      [products],
    );
    expect(moves.rows[0]).toEqual({ transfers: 40, net: 0 });
  });

  it('never goes below zero, and records receipts, adjustments and counts in the ledger', async () => {
    const [b, p] = [s.branches.DT, s.productIds[40]];
    const start = (await stock(b, p)).quantity;
    const under = await t.gql(ADJUST, { b, p, d: -(start + 1) }, admin);
    expect(under.data?.adjustStock).toMatchObject({
      __typename: 'InsufficientStock',
      requested: start + 1,
      available: start,
    });
    const receive = `mutation ($b: ID!, $p: ID!) { receiveStock(branchId: $b, productId: $p, quantity: 12, note: "delivery 42") {
      ${RESULT} ... on MutationReceiveStockSuccess { data { quantity version } } } }`;
    const received = ok(await t.gql(receive, { b, p }, clerk), 'receiveStock');
    expect(received.quantity).toBe(start + 12);

    const count = `mutation ($b: ID!, $p: ID!, $c: Int!, $v: Int!) { countStock(branchId: $b, productId: $p, counted: $c, expectedVersion: $v) {
      ${RESULT} ${CONFLICT} ... on MutationCountStockSuccess { data { quantity version } } } }`;
    const stale = await t.gql(count, { b, p, c: 3, v: received.version - 1 }, clerk);
    expect(stale.data?.countStock).toMatchObject({
      __typename: 'VersionConflict',
      changedFields: ['quantity'],
      current: { quantity: start + 12, version: received.version },
    });
    // Counting 3 moves the quantity by more than a clerk may (CLERK_MAX_STOCK_CHANGE, 50): the admin counts.
    expect(ok(await t.gql(count, { b, p, c: 3, v: received.version }, admin), 'countStock')).toEqual({
      quantity: 3,
      version: received.version + 1,
    });
    const st = await stock(b, p);
    expect(st).toMatchObject({ quantity: 3, ledger: 3 });
    const last = await t.db.pool.query(
      `SELECT m.kind, m.delta, u.email FROM stock_movements m JOIN users u ON u.id = m.actor_id
        WHERE m.branch_id = $1 AND m.product_id = $2 ORDER BY m.created_at DESC, m.kind LIMIT 2`,
      [b, p],
    );
    expect(last.rows).toContainEqual({
      kind: 'COUNT',
      delta: 3 - (start + 12),
      email: 'admin@example.com',
    });
  });
});

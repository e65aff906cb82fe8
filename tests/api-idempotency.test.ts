/** idempotencyKey: a replay applies nothing and returns the first result; other arguments are refused. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, ok, type Sample, sample } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
let s: Sample;
let clerk: string;
beforeAll(async () => {
  t = await startTestApp({ seed: true });
  s = await sample(t);
  clerk = await login(t, 'clerk.hb@example.com');
});
afterAll(async () => {
  await t?.stop();
});

const PLACE = `mutation ($input: PlaceOrderInput!, $key: String) { placeOrder(input: $input, idempotencyKey: $key) {
  __typename ... on MutationPlaceOrderSuccess { data { id number total items { quantity product { id } } } }
  ... on IdempotencyKeyReused { key } ... on Error { message } } }`;
const RECEIVE = `mutation ($b: ID!, $p: ID!, $q: Int!, $key: String) {
  receiveStock(branchId: $b, productId: $p, quantity: $q, idempotencyKey: $key) {
    __typename ... on MutationReceiveStockSuccess { data { quantity } } ... on IdempotencyKeyReused { key message } } }`;

const count = async (sql: string, params: unknown[]) =>
  (await t.db.pool.query(sql, params)).rows[0].n as number;

describe('idempotency', () => {
  it('keeps keys 7 days, then prunes them', async () => {
    const users = await t.db.pool.query("SELECT id FROM users WHERE email = 'clerk.hb@example.com'");
    const userId = users.rows[0].id;
    for (const [key, age] of [
      ['old', '8 days'],
      ['recent', '6 days'],
    ]) {
      await t.db.pool.query(
        `INSERT INTO idempotency_keys (user_id, key, operation, request_hash, response, created_at)
         VALUES ($1, $2, 'receiveStock', 'x', '{}', now() - $3::interval)`,
        [userId, key, age],
      );
    }
    // The first write with a key of this server process prunes (then at most hourly).
    ok(
      await t.gql(RECEIVE, { b: s.branches.HB, p: s.productIds[9], q: 1, key: 'prune-trigger' }, clerk),
      'receiveStock',
    );
    await expect
      .poll(
        async () =>
          (await t.db.pool.query("SELECT key FROM idempotency_keys WHERE key IN ('old', 'recent')")).rows,
      )
      .toEqual([{ key: 'recent' }]);
  });

  it('applies a replayed placeOrder once and returns the first result', async () => {
    const input = { branchId: s.branches.HB, items: [{ productId: s.productIds[3], quantity: 2 }] };
    const stock = () =>
      count('SELECT quantity AS n FROM stock_levels WHERE branch_id = $1 AND product_id = $2', [
        s.branches.HB,
        s.productIds[3],
      ]);
    const before = await stock();
    const first = ok(await t.gql(PLACE, { input, key: 'till-7:order-1' }, clerk), 'placeOrder');
    // An offline client replays, sometimes several times at once.
    const replays = await Promise.all(
      Array.from({ length: 5 }, () => t.gql(PLACE, { input, key: 'till-7:order-1' }, clerk)),
    );
    for (const r of replays) expect(ok(r, 'placeOrder')).toEqual(first);
    expect(await stock()).toBe(before - 2);
    expect(await count('SELECT count(*)::int AS n FROM orders WHERE id = $1', [first.id])).toBe(1);
    expect(
      await count("SELECT count(*)::int AS n FROM stock_movements WHERE order_id = $1 AND kind = 'SALE'", [
        first.id,
      ]),
    ).toBe(1);

    const other = await t.gql(
      PLACE,
      { input: { ...input, items: [{ productId: s.productIds[3], quantity: 3 }] }, key: 'till-7:order-1' },
      clerk,
    );
    expect(other.data?.placeOrder).toMatchObject({
      __typename: 'IdempotencyKeyReused',
      key: 'till-7:order-1',
    });
    expect(await stock()).toBe(before - 2);
  });

  it('handles concurrent first attempts with one key as one request', async () => {
    const vars = { b: s.branches.HB, p: s.productIds[4], q: 5, key: 'receipt-abc' };
    const { rows } = await t.db.pool.query(
      'SELECT quantity FROM stock_levels WHERE branch_id = $1 AND product_id = $2',
      [vars.b, vars.p],
    );
    const results = await Promise.all(Array.from({ length: 8 }, () => t.gql(RECEIVE, vars, clerk)));
    for (const r of results) expect(ok(r, 'receiveStock')).toEqual({ quantity: rows[0].quantity + 5 });
    expect(
      await count(
        "SELECT count(*)::int AS n FROM stock_movements WHERE product_id = $1 AND kind = 'RECEIPT' AND branch_id = $2 AND created_at > now() - interval '1 minute'",
        [vars.p, vars.b],
      ),
    ).toBe(1);
  });

  it('refuses the same key for another operation, and keeps keys per user', async () => {
    const key = 'shared-key';
    ok(await t.gql(RECEIVE, { b: s.branches.HB, p: s.productIds[5], q: 1, key }, clerk), 'receiveStock');
    const place = await t.gql(
      PLACE,
      { input: { branchId: s.branches.HB, items: [{ productId: s.productIds[5], quantity: 1 }] }, key },
      clerk,
    );
    expect(place.data?.placeOrder.__typename).toBe('IdempotencyKeyReused');
    const manager = await login(t, 'manager.hb@example.com');
    ok(await t.gql(RECEIVE, { b: s.branches.HB, p: s.productIds[5], q: 1, key }, manager), 'receiveStock');
    const keys = await t.db.pool.query(
      "SELECT operation, created_at > now() - interval '1 minute' AS fresh FROM idempotency_keys WHERE key = $1",
      [key],
    );
    expect(keys.rows).toEqual([
      { operation: 'receiveStock', fresh: true },
      { operation: 'receiveStock', fresh: true },
    ]);
  });
});

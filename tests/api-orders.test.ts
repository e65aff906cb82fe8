/** Orders: gap-free numbers under concurrency, prices copied as decimals, pay and cancel. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, ok, type Sample, sample } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
let s: Sample;
let clerk: string;
let manager: string;
beforeAll(async () => {
  t = await startTestApp({ seed: true });
  s = await sample(t);
  [clerk, manager] = await Promise.all([
    login(t, 'clerk.ng@example.com'),
    login(t, 'manager.ng@example.com'),
  ]);
});
afterAll(async () => {
  await t?.stop();
});

const ORDER =
  'id number status total itemCount version items { quantity unitPrice lineTotal product { id } }';
const PLACE = `mutation ($input: PlaceOrderInput!, $key: String) { placeOrder(input: $input, idempotencyKey: $key) {
  __typename ... on MutationPlaceOrderSuccess { data { ${ORDER} } } ... on Error { message } } }`;
const STATUS = (
  op: string,
  success: string,
) => `mutation ($id: ID!, $v: Int!) { ${op}(id: $id, expectedVersion: $v) {
  __typename ... on ${success} { data { ${ORDER} } }
  ... on VersionConflict { changedFields current { ... on Order { status version } } }
  ... on ValidationError { fieldErrors { path message } }
  ... on Error { message } } }`;

describe('orders', () => {
  it('numbers 50 concurrent orders at one branch without gaps or duplicates', async () => {
    const before = await t.db.pool.query('SELECT last_seq FROM order_counters WHERE branch_id = $1', [
      s.branches.NG,
    ]);
    const last = before.rows[0].last_seq as number;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        t.gql(
          PLACE,
          { input: { branchId: s.branches.NG, items: [{ productId: s.productIds[i % 10], quantity: 1 }] } },
          i % 2 ? clerk : manager,
        ),
      ),
    );
    const numbers = results.map((r) => ok(r, 'placeOrder').number as string).sort();
    const expected = Array.from({ length: 50 }, (_, i) => `NG-${String(last + 1 + i).padStart(6, '0')}`);
    expect(numbers).toEqual(expected);
    const after = await t.db.pool.query('SELECT last_seq FROM order_counters WHERE branch_id = $1', [
      s.branches.NG,
    ]);
    expect(after.rows[0].last_seq).toBe(last + 50);
  });

  it('copies unit prices as decimals at the time of sale and totals them exactly', async () => {
    const [p1, p2] = [s.productIds[50], s.productIds[51]];
    await t.db.pool.query("UPDATE products SET unit_price = '19.90' WHERE id = $1", [p1]);
    await t.db.pool.query("UPDATE products SET unit_price = '0.10' WHERE id = $1", [p2]);
    const order = ok(
      await t.gql(
        PLACE,
        {
          input: {
            branchId: s.branches.NG,
            items: [
              { productId: p1, quantity: 3 },
              { productId: p2, quantity: 2 },
              { productId: p2, quantity: 1 },
            ],
          },
        },
        clerk,
      ),
      'placeOrder',
    );
    expect(order.total).toBe('60.00');
    expect(order.itemCount).toBe(6);
    expect(order.items).toEqual(
      expect.arrayContaining([
        { quantity: 3, unitPrice: '19.90', lineTotal: '59.70', product: { id: p1 } },
        { quantity: 3, unitPrice: '0.10', lineTotal: '0.30', product: { id: p2 } },
      ]),
    );
    await t.db.pool.query("UPDATE products SET unit_price = '25.00' WHERE id = $1", [p1]);
    const again = await t.gql(
      `query ($id: ID!) { order(id: $id) { total items { unitPrice } } }`,
      { id: order.id },
      clerk,
    );
    expect(again.data?.order.total).toBe('60.00');
    expect(again.data?.order.items.map((i: { unitPrice: string }) => i.unitPrice).sort()).toEqual([
      '0.10',
      '19.90',
    ]);
  });

  it('pays and cancels with the version the client saw; cancelling returns the stock', async () => {
    const p = s.productIds[55];
    const qty = async () =>
      (
        await t.db.pool.query('SELECT quantity FROM stock_levels WHERE branch_id = $1 AND product_id = $2', [
          s.branches.NG,
          p,
        ])
      ).rows[0].quantity as number;
    const start = await qty();
    const order = ok(
      await t.gql(
        PLACE,
        { input: { branchId: s.branches.NG, items: [{ productId: p, quantity: 2 }] } },
        clerk,
      ),
      'placeOrder',
    );
    expect(await qty()).toBe(start - 2);
    const paid = ok(
      await t.gql(STATUS('payOrder', 'MutationPayOrderSuccess'), { id: order.id, v: order.version }, clerk),
      'payOrder',
    );
    expect(paid).toMatchObject({ status: 'PAID', version: order.version + 1 });

    const stale = await t.gql(
      STATUS('cancelOrder', 'MutationCancelOrderSuccess'),
      { id: order.id, v: order.version },
      clerk,
    );
    expect(stale.data?.cancelOrder).toMatchObject({
      __typename: 'VersionConflict',
      changedFields: expect.arrayContaining(['status', 'paidAt']),
      current: { status: 'PAID', version: paid.version },
    });
    expect(await qty()).toBe(start - 2);

    // A paid order is a refund: the clerk may not cancel it (changing nothing), the manager may.
    const refused = await t.gql(
      STATUS('cancelOrder', 'MutationCancelOrderSuccess'),
      { id: order.id, v: paid.version },
      clerk,
    );
    expect(refused.data?.cancelOrder).toEqual({
      __typename: 'Forbidden',
      message: 'Only a manager can cancel a paid order',
    });
    expect(await qty()).toBe(start - 2);
    const cancelled = ok(
      await t.gql(
        STATUS('cancelOrder', 'MutationCancelOrderSuccess'),
        { id: order.id, v: paid.version },
        manager,
      ),
      'cancelOrder',
    );
    expect(cancelled.status).toBe('CANCELLED');
    expect(await qty()).toBe(start);
    const twice = await t.gql(
      STATUS('cancelOrder', 'MutationCancelOrderSuccess'),
      { id: order.id, v: cancelled.version },
      clerk,
    );
    expect(twice.data?.cancelOrder).toMatchObject({
      __typename: 'ValidationError',
      message: 'Order is CANCELLED',
    });
    const ledger = await t.db.pool.query(
      'SELECT kind, delta FROM stock_movements WHERE order_id = $1 ORDER BY kind',
      [order.id],
    );
    expect(ledger.rows).toEqual([
      { kind: 'SALE', delta: -2 },
      { kind: 'RETURN', delta: 2 },
    ]);
  });

  it('lists orders latest sale first by branch and status, paged, with a feed cursor', async () => {
    const q = `query ($b: ID, $after: String) { orders(branchId: $b, status: PLACED, first: 20, after: $after) {
      feedCursor pageInfo { hasNextPage endCursor } edges { node { number status branch { code } } } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res: { data?: any; errors?: unknown } = await t.gql(q, { b: s.branches.NG, after }, manager);
      expect(res.errors).toBeUndefined();
      const conn = res.data?.orders;
      expect(conn.feedCursor).toMatch(/^[0-9a-f-]{36}:\d+:\d+(:\d+)?$/);
      for (const e of conn.edges) {
        expect(e.node).toMatchObject({ status: 'PLACED', branch: { code: 'NG' } });
        seen.push(e.node.number);
      }
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    const { rows } = await t.db.pool.query(
      "SELECT number FROM orders WHERE branch_id = $1 AND status = 'PLACED' ORDER BY sold_at DESC, id DESC",
      [s.branches.NG],
    );
    expect(seen).toEqual(rows.map((r) => r.number));
    expect(seen.length).toBeGreaterThan(50);
  });
});

/**
 * A sale as the till makes it (issue 13): the time of sale from the device within its bounds,
 * the prices the till showed under both price policies, payment in one step with the order
 * (idempotent as one), refunds, and orders and the dashboard by the time of sale.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/app.ts';
import { computeDashboard } from '../src/resolvers/dashboard.ts';
import { login, ok, type Sample, sample } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { testLog } from './helpers/db.ts';

let t: TestApp;
let s: Sample;
let clerk: string;
let manager: string;
/** A second server on the same database with OFFLINE_PRICE_POLICY=current. */
let current: App;
let currentUrl: string;

beforeAll(async () => {
  t = await startTestApp({ seed: true });
  s = await sample(t);
  [clerk, manager] = await Promise.all([
    login(t, 'clerk.hb@example.com'),
    login(t, 'manager.hb@example.com'),
  ]);
  current = buildApp({
    databaseUrl: t.db.url,
    log: testLog,
    poolSize: 4,
    sales: { pricePolicy: 'current', businessName: 'Harbour Hardware', taxRatePercent: 20 },
  });
  currentUrl = (await current.start(0, '127.0.0.1')).url;
});
afterAll(async () => {
  await current?.stop();
  await t?.stop();
});

const ORDER = `id number status total version soldAt placedAt paidAt amountPaid balanceDue priceChanged
  items { productId quantity unitPrice shownUnitPrice listUnitPrice priceChanged lineTotal }
  payments { kind method amount tendered change customerId }`;
const PLACE = `mutation ($input: PlaceOrderInput!, $key: String) { placeOrder(input: $input, idempotencyKey: $key) {
  __typename ... on MutationPlaceOrderSuccess { data { ${ORDER} } }
  ... on ValidationError { fieldErrors { path message } }
  ... on Error { message } } }`;

async function gqlAt(url: string, query: string, variables: Record<string, unknown>, token: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: unknown };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const stockOf = async (productId: string) =>
  (
    await t.db.pool.query('SELECT quantity FROM stock_levels WHERE branch_id = $1 AND product_id = $2', [
      s.branches.HB,
      productId,
    ])
  ).rows[0].quantity as number;
const counter = async () =>
  (await t.db.pool.query('SELECT last_seq FROM order_counters WHERE branch_id = $1', [s.branches.HB])).rows[0]
    ?.last_seq as number;
const setPrice = (productId: string, price: string) =>
  t.db.pool.query('UPDATE products SET unit_price = $2 WHERE id = $1', [productId, price]);
const line = (productId: string, quantity = 1, shownUnitPrice?: string) => ({
  productId,
  quantity,
  ...(shownUnitPrice ? { shownUnitPrice } : {}),
});

describe('time of sale', () => {
  it('records soldAt from the device and placedAt on arrival', async () => {
    const soldAt = new Date(Date.now() - 2 * DAY).toISOString();
    const order = ok(
      await t.gql(
        PLACE,
        { input: { branchId: s.branches.HB, soldAt, items: [line(s.productIds[0])] } },
        clerk,
      ),
      'placeOrder',
    );
    expect(order.soldAt).toBe(soldAt);
    expect(Math.abs(new Date(order.placedAt).getTime() - Date.now())).toBeLessThan(60_000);
    // Without soldAt the sale is dated on arrival.
    const now = ok(
      await t.gql(PLACE, { input: { branchId: s.branches.HB, items: [line(s.productIds[0])] } }, clerk),
      'placeOrder',
    );
    expect(now.soldAt).toBe(now.placedAt);
  });

  it('refuses a sale dated more than 7 days ago or ahead of the server, writing nothing', async () => {
    const p = s.productIds[1];
    const [stock, seq] = [await stockOf(p), await counter()];
    for (const soldAt of [new Date(Date.now() - 7 * DAY - HOUR), new Date(Date.now() + 10 * 60_000)]) {
      const res = await t.gql(
        PLACE,
        { input: { branchId: s.branches.HB, soldAt: soldAt.toISOString(), items: [line(p)] } },
        clerk,
      );
      expect(res.data?.placeOrder.__typename).toBe('ValidationError');
      expect(res.data?.placeOrder.fieldErrors[0].path).toEqual(['input', 'soldAt']);
    }
    expect(await stockOf(p)).toBe(stock);
    expect(await counter()).toBe(seq);
  });

  it('takes a device clock up to 5 minutes fast as now', async () => {
    const soldAt = new Date(Date.now() + 2 * 60_000).toISOString();
    const order = ok(
      await t.gql(
        PLACE,
        { input: { branchId: s.branches.HB, soldAt, items: [line(s.productIds[2])] } },
        clerk,
      ),
      'placeOrder',
    );
    expect(order.soldAt).toBe(order.placedAt);
  });

  it('dates orders lists, their filters and the dashboard by the time of sale', async () => {
    const yesterday = new Date(Date.now() - DAY);
    yesterday.setHours(12, 0, 0, 0);
    const before = await computeDashboard(t.db.pool, s.branches.HB);
    const late = ok(
      await t.gql(
        PLACE,
        {
          input: {
            branchId: s.branches.HB,
            soldAt: yesterday.toISOString(),
            items: [line(s.productIds[3], 2)],
          },
        },
        clerk,
      ),
      'placeOrder',
    );
    const after = await computeDashboard(t.db.pool, s.branches.HB);
    // Arrived today, sold yesterday: not in today's sales.
    expect(after.salesToday).toBe(before.salesToday);
    expect(after.orderCount).toBe(before.orderCount);

    const q = `query ($b: ID, $from: DateTime, $to: DateTime) { orders(branchId: $b, from: $from, to: $to, first: 200) {
      edges { node { id soldAt } } } }`;
    const day = await t.gql(
      q,
      {
        b: s.branches.HB,
        from: new Date(yesterday.getTime() - HOUR).toISOString(),
        to: new Date(yesterday.getTime() + HOUR).toISOString(),
      },
      manager,
    );
    const ids = day.data?.orders.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(ids).toContain(late.id);
    const newest = await t.gql(q, { b: s.branches.HB }, manager);
    const times = newest.data?.orders.edges.map((e: { node: { soldAt: string } }) => e.node.soldAt);
    expect(times).toEqual([...times].sort().reverse());
  });

  it('filters orders by customer and pages through them', async () => {
    const { rows } = await t.db.pool.query('SELECT id FROM customers ORDER BY name LIMIT 1');
    const customerId = rows[0].id as string;
    for (let i = 0; i < 3; i++) {
      ok(
        await t.gql(
          PLACE,
          { input: { branchId: s.branches.HB, customerId, items: [line(s.productIds[4 + i])] } },
          clerk,
        ),
        'placeOrder',
      );
    }
    const q = `query ($c: ID, $after: String) { orders(branchId: "${s.branches.HB}", customerId: $c, first: 2, after: $after) {
      pageInfo { hasNextPage endCursor } edges { node { id customer { id } } } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 20; i++) {
      const res: { data?: any } = await t.gql(q, { c: customerId, after }, manager);
      for (const e of res.data.orders.edges) {
        expect(e.node.customer.id).toBe(customerId);
        seen.push(e.node.id);
      }
      if (!res.data.orders.pageInfo.hasNextPage) break;
      after = res.data.orders.pageInfo.endCursor;
    }
    const expected = await t.db.pool.query(
      'SELECT id FROM orders WHERE branch_id = $1 AND customer_id = $2 ORDER BY sold_at DESC, id DESC',
      [s.branches.HB, customerId],
    );
    expect(seen).toEqual(expected.rows.map((r) => r.id));
    expect(seen.length).toBeGreaterThanOrEqual(3);
  });
});

describe('prices shown while offline', () => {
  it('tells clients the policy, business name and tax for receipts', async () => {
    const q = '{ salesSettings { businessName taxRatePercent taxLabel offlinePricePolicy } }';
    expect((await t.gql(q, {}, clerk)).data?.salesSettings).toEqual({
      businessName: 'Branchline',
      taxRatePercent: null,
      taxLabel: 'VAT',
      offlinePricePolicy: 'shown',
    });
    expect((await gqlAt(currentUrl, q, {}, clerk)).data?.salesSettings).toEqual({
      businessName: 'Harbour Hardware',
      taxRatePercent: 20,
      taxLabel: 'VAT',
      offlinePricePolicy: 'current',
    });
  });

  it('charges the shown price by default and notes both prices', async () => {
    const p = s.productIds[10];
    await setPrice(p, '11.81');
    await setPrice(p, '22.22');
    const order = ok(
      await t.gql(
        PLACE,
        { input: { branchId: s.branches.HB, items: [line(p, 2, '11.81')], payment: { method: 'CARD' } } },
        clerk,
      ),
      'placeOrder',
    );
    expect(order.items).toEqual([
      expect.objectContaining({
        unitPrice: '11.81',
        shownUnitPrice: '11.81',
        listUnitPrice: '22.22',
        priceChanged: true,
        lineTotal: '23.62',
      }),
    ]);
    expect(order).toMatchObject({ total: '23.62', priceChanged: true, status: 'PAID', balanceDue: '0.00' });
  });

  it('charges the current price under OFFLINE_PRICE_POLICY=current, leaving the difference due', async () => {
    const p = s.productIds[11];
    await setPrice(p, '14.88');
    await setPrice(p, '19.99');
    const order = ok(
      await gqlAt(
        currentUrl,
        PLACE,
        { input: { branchId: s.branches.HB, items: [line(p, 1, '14.88')], payment: { method: 'CARD' } } },
        clerk,
      ),
      'placeOrder',
    );
    expect(order.items[0]).toMatchObject({ unitPrice: '19.99', shownUnitPrice: '14.88', priceChanged: true });
    // The card was charged what the till asked for; the rest is due.
    expect(order).toMatchObject({
      total: '19.99',
      status: 'PLACED',
      amountPaid: '14.88',
      balanceDue: '5.11',
    });
    expect(order.payments).toEqual([
      { kind: 'PAYMENT', method: 'CARD', amount: '14.88', tendered: null, change: null, customerId: null },
    ]);
    const paid = ok(
      await gqlAt(
        currentUrl,
        `mutation ($id: ID!, $v: Int!) { payOrder(id: $id, expectedVersion: $v, payment: { method: CASH, tendered: "10.00" }) {
          __typename ... on MutationPayOrderSuccess { data { ${ORDER} } } ... on Error { message } } }`,
        { id: order.id, v: order.version },
        clerk,
      ),
      'payOrder',
    );
    expect(paid).toMatchObject({ status: 'PAID', amountPaid: '19.99', balanceDue: '0.00' });
    expect(paid.payments[1]).toMatchObject({
      method: 'CASH',
      amount: '5.11',
      tendered: '10.00',
      change: '4.89',
    });
  });

  it('records no note when the shown price is the current one', async () => {
    const p = s.productIds[12];
    await setPrice(p, '3.50');
    const order = ok(
      await t.gql(PLACE, { input: { branchId: s.branches.HB, items: [line(p, 1, '3.50')] } }, clerk),
      'placeOrder',
    );
    expect(order.priceChanged).toBe(false);
    expect(order.items[0]).toMatchObject({
      unitPrice: '3.50',
      shownUnitPrice: '3.50',
      listUnitPrice: '3.50',
    });
  });

  it('refuses a shown price the product never had in the week before the sale', async () => {
    const p = s.productIds[13];
    await setPrice(p, '8.00');
    const stock = await stockOf(p);
    for (const policy of [t.url, currentUrl]) {
      const res = await gqlAt(
        policy,
        PLACE,
        { input: { branchId: s.branches.HB, items: [line(p, 1, '0.01')] } },
        clerk,
      );
      expect(res.data?.placeOrder.__typename).toBe('ValidationError');
      expect(res.data?.placeOrder.fieldErrors[0].path).toEqual(['input', 'items', 'shownUnitPrice']);
    }
    // A price it had, but only until 8 days before the sale, is refused too.
    await t.db.pool.query(
      `INSERT INTO product_prices (product_id, unit_price, valid_from, valid_to)
       VALUES ($1, '6.00', now() - interval '20 days', now() - interval '9 days')`,
      [p],
    );
    const old = await t.gql(
      PLACE,
      {
        input: {
          branchId: s.branches.HB,
          soldAt: new Date(Date.now() - DAY).toISOString(),
          items: [line(p, 1, '6.00')],
        },
      },
      clerk,
    );
    expect(old.data?.placeOrder.__typename).toBe('ValidationError');
    expect(await stockOf(p)).toBe(stock);
  });
});

describe('payment at the till', () => {
  it('takes cash with change in one step, idempotent as one (concurrent repeats too)', async () => {
    const p = s.productIds[20];
    await setPrice(p, '7.25');
    const stock = await stockOf(p);
    const input = {
      branchId: s.branches.HB,
      items: [line(p, 2, '7.25')],
      payment: { method: 'CASH', tendered: '20.00' },
    };
    const results = await Promise.all(
      Array.from({ length: 4 }, () => t.gql(PLACE, { input, key: 'till-sale-1' }, clerk)),
    );
    const orders = results.map((r) => ok(r, 'placeOrder'));
    expect(new Set(orders.map((o) => o.id)).size).toBe(1);
    expect(orders[0]).toMatchObject({
      status: 'PAID',
      total: '14.50',
      amountPaid: '14.50',
      balanceDue: '0.00',
    });
    expect(orders[0].payments).toEqual([
      {
        kind: 'PAYMENT',
        method: 'CASH',
        amount: '14.50',
        tendered: '20.00',
        change: '5.50',
        customerId: null,
      },
    ]);
    expect(await stockOf(p)).toBe(stock - 2);
    const rows = await t.db.pool.query('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [
      orders[0].id,
    ]);
    expect(rows.rows[0].n).toBe(1);

    // The same key with another payment is a different request.
    const reused = await t.gql(
      PLACE,
      { input: { ...input, payment: { method: 'CARD' } }, key: 'till-sale-1' },
      clerk,
    );
    expect(reused.data?.placeOrder.__typename).toBe('IdempotencyKeyReused');
    expect(await stockOf(p)).toBe(stock - 2);
  });

  it('refuses cash that does not cover the total and account sales without a customer', async () => {
    const p = s.productIds[21];
    await setPrice(p, '9.00');
    const [stock, seq] = [await stockOf(p), await counter()];
    const short = await t.gql(
      PLACE,
      {
        input: {
          branchId: s.branches.HB,
          items: [line(p, 1, '9.00')],
          payment: { method: 'CASH', tendered: '5.00' },
        },
      },
      clerk,
    );
    expect(short.data?.placeOrder).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'payment', 'tendered'], message: 'is less than the 9.00 due' }],
    });
    const noCustomer = await t.gql(
      PLACE,
      { input: { branchId: s.branches.HB, items: [line(p)], payment: { method: 'ACCOUNT' } } },
      clerk,
    );
    expect(noCustomer.data?.placeOrder.__typename).toBe('ValidationError');
    expect(await stockOf(p)).toBe(stock);
    expect(await counter()).toBe(seq);

    const { rows } = await t.db.pool.query('SELECT id FROM customers ORDER BY name LIMIT 1');
    const onAccount = ok(
      await t.gql(
        PLACE,
        {
          input: {
            branchId: s.branches.HB,
            customerId: rows[0].id,
            items: [line(p)],
            payment: { method: 'ACCOUNT' },
          },
        },
        clerk,
      ),
      'placeOrder',
    );
    expect(onAccount.status).toBe('PAID');
    expect(onAccount.payments[0]).toMatchObject({
      method: 'ACCOUNT',
      amount: '9.00',
      customerId: rows[0].id,
    });
  });

  it('refunds what was paid when a paid order is cancelled', async () => {
    const p = s.productIds[22];
    const order = ok(
      await t.gql(
        PLACE,
        { input: { branchId: s.branches.HB, items: [line(p, 1)], payment: { method: 'CARD' } } },
        clerk,
      ),
      'placeOrder',
    );
    const cancelled = ok(
      await t.gql(
        `mutation ($id: ID!, $v: Int!) { cancelOrder(id: $id, expectedVersion: $v) {
          __typename ... on MutationCancelOrderSuccess { data { ${ORDER} } } ... on Error { message } } }`,
        { id: order.id, v: order.version },
        manager,
      ),
      'cancelOrder',
    );
    expect(cancelled).toMatchObject({ status: 'CANCELLED', amountPaid: '0.00', balanceDue: '0.00' });
    expect(cancelled.payments.map((x: { kind: string; amount: string }) => [x.kind, x.amount])).toEqual([
      ['PAYMENT', order.total],
      ['REFUND', `-${order.total}`],
    ]);
  });

  it('records a plain payOrder as OTHER and keeps the ledger append-only', async () => {
    const order = ok(
      await t.gql(PLACE, { input: { branchId: s.branches.HB, items: [line(s.productIds[23])] } }, clerk),
      'placeOrder',
    );
    expect(order).toMatchObject({ status: 'PLACED', payments: [], balanceDue: order.total });
    const paid = ok(
      await t.gql(
        `mutation ($id: ID!, $v: Int!) { payOrder(id: $id, expectedVersion: $v) {
          __typename ... on MutationPayOrderSuccess { data { ${ORDER} } } ... on Error { message } } }`,
        { id: order.id, v: order.version },
        clerk,
      ),
      'payOrder',
    );
    expect(paid.payments).toEqual([expect.objectContaining({ method: 'OTHER', amount: order.total })]);
    await expect(t.db.pool.query('DELETE FROM payments WHERE order_id = $1', [order.id])).rejects.toThrow(
      /append-only/,
    );
  });
});

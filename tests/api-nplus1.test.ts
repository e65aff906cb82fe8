/**
 * No N+1: a page of 50 orders with their items, products, branch and customer costs a fixed
 * number of SQL statements, the same as a page of 5. Statements are counted where they really
 * go out: every `query` call on a pg client of this test's database (the pool behind Prisma).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, type Sample, sample } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
let s: Sample;
let admin: string;
const statements: string[] = [];
const original = pg.Client.prototype.query;
const FEED = /change_log|NOTIFY|LISTEN|pg_notify/i;

beforeAll(async () => {
  t = await startTestApp({ seed: true });
  s = await sample(t);
  admin = await login(t, 'admin@example.com');
  const codes = Object.keys(s.branches);
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      t.gql(
        `mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { __typename ... on Error { message } } }`,
        {
          input: {
            branchId: s.branches[codes[i % codes.length]],
            items: [0, 1, 2].map((k) => ({ productId: s.productIds[(i * 3 + k) % 60], quantity: 1 })),
          },
        },
        admin,
      ),
    ),
  );
  for (const r of results) expect(r.data?.placeOrder.__typename).toBe('MutationPlaceOrderSuccess');
  // Only clients of the API's pool (not the change-feed listener's own connection), and not the
  // change-log reads the feed makes through that pool on its own timer.
  const poolClients = new WeakSet<object>();
  t.app.services.db.pool.on('acquire', (client) => poolClients.add(client));
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const text = String(typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string })?.text);
    if (poolClients.has(this) && !FEED.test(text)) statements.push(text);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
});
afterAll(async () => {
  pg.Client.prototype.query = original;
  await t?.stop();
});

const PAGE = `query ($first: Int!) { orders(first: $first) { feedCursor edges { node {
  number total branch { code } customer { name }
  items { quantity unitPrice product { name sku stockLevels { quantity } } }
} } } }`;

async function measure(first: number) {
  statements.length = 0;
  const res = await t.gql(PAGE, { first }, admin);
  expect(res.errors).toBeUndefined();
  return { count: statements.length, sql: [...statements], edges: res.data?.orders.edges };
}

describe('batching', () => {
  it('loads a page of 50 orders with items and products in a constant number of statements', async () => {
    const big = await measure(50);
    expect(big.edges).toHaveLength(50);
    const items = big.edges.flatMap((e: { node: { items: unknown[] } }) => e.node.items);
    expect(items.length).toBeGreaterThanOrEqual(90);
    const small = await measure(5);
    expect(small.edges).toHaveLength(5);
    // The same statements for 5 and for 50 orders: nothing is loaded per row.
    expect(big.count, `${big.sql.join('\n')}\n---\n${small.sql.join('\n')}`).toBe(small.count);
    expect(big.count, big.sql.join('\n')).toBeLessThanOrEqual(14);
  });

  it('counts statements at all (the wrapper sees the queries of the server)', async () => {
    const { count } = await measure(1);
    expect(count).toBeGreaterThan(3);
  });
});

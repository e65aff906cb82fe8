/**
 * Branch access: a clerk of DT can neither read nor change anything of HB, and cannot tell an
 * HB id from an id that does not exist; a clerk cannot change a price.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksum, login, type Sample, sample } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
let s: Sample;
let clerk: string;
let hb: { order: { id: string; version: number }; stockVersion: number; customer: string };
beforeAll(async () => {
  t = await startTestApp({ seed: true });
  s = await sample(t);
  clerk = await login(t, 'clerk.dt@example.com');
  const order = await t.db.pool.query(
    'SELECT id, version FROM orders WHERE branch_id = $1 ORDER BY seq LIMIT 1',
    [s.branches.HB],
  );
  const stock = await t.db.pool.query(
    'SELECT version FROM stock_levels WHERE branch_id = $1 AND product_id = $2',
    [s.branches.HB, s.productIds[0]],
  );
  const customer = await t.db.pool.query('SELECT id FROM customers WHERE home_branch_id = $1 LIMIT 1', [
    s.branches.HB,
  ]);
  hb = { order: order.rows[0], stockVersion: stock.rows[0].version, customer: customer.rows[0].id };
});
afterAll(async () => {
  await t?.stop();
});

/** The response with every occurrence of `id` replaced, so an HB id and an unknown id compare equal. */
const masked = (res: unknown, id: string) => JSON.parse(JSON.stringify(res).replaceAll(id, '<id>'));

describe('branch access', () => {
  it('shows a clerk only their branch in every list and nested field', async () => {
    const res = await t.gql(
      `{ branches { edges { node { code } } }
         stockLevels(first: 200) { edges { node { branch { code } } } }
         orders(first: 200) { edges { node { branch { code } } } }
         products(first: 5) { edges { node { stockLevels { branch { code } } } } }
         me { branches { code } } }`,
      {},
      clerk,
    );
    expect(res.errors).toBeUndefined();
    const codes = new Set(JSON.stringify(res.data).match(/"code":"\w+"/g));
    expect([...codes]).toEqual(['"code":"DT"']);
    const hbList = await t.gql(
      'query ($b: ID) { stockLevels(branchId: $b) { edges { node { id } } } orders(branchId: $b) { edges { node { id } } } }',
      { b: s.branches.HB },
      clerk,
    );
    expect(hbList.data).toMatchObject({ stockLevels: { edges: [] }, orders: { edges: [] } });
  });

  it('answers reads of an HB id exactly like reads of an unknown id', async () => {
    const unknown = randomUUID();
    const reads = [
      'query ($id: ID!) { branch(id: $id) { id } }',
      'query ($id: ID!) { order(id: $id) { id number } }',
      'query ($id: ID!) { history(table: ORDERS, id: $id) { op } }',
      'query ($id: ID!) { history(table: BRANCHES, id: $id) { op } }',
    ];
    for (const q of reads) {
      const id = q.includes('branch') || q.includes('BRANCHES') ? s.branches.HB : hb.order.id;
      const hidden = await t.gql(q, { id }, clerk);
      const missing = await t.gql(q, { id: unknown }, clerk);
      expect(hidden.errors).toBeUndefined();
      expect(masked(hidden, id), q).toEqual(masked(missing, unknown));
    }
    const customer = await t.gql(
      'query ($id: ID!) { customer(id: $id) { homeBranchId homeBranch { code } } }',
      { id: hb.customer },
      clerk,
    );
    // The home branch's id is hidden like the branch itself (it used to leak the HB id).
    expect(customer.data?.customer).toEqual({ homeBranchId: null, homeBranch: null });
  });

  it('refuses every change to HB with the same NotFound as for an unknown id, and changes nothing', async () => {
    const before = await checksum(t);
    const unknown = randomUUID();
    const writes: [string, (id: string) => Record<string, unknown>][] = [
      [
        'mutation ($b: ID!, $p: ID!) { receiveStock(branchId: $b, productId: $p, quantity: 1) { __typename ... on NotFound { entity id message } } }',
        (id) => ({ b: id, p: s.productIds[0] }),
      ],
      [
        'mutation ($b: ID!, $p: ID!) { countStock(branchId: $b, productId: $p, counted: 0, expectedVersion: 1) { __typename ... on NotFound { entity id message } } }',
        (id) => ({ b: id, p: s.productIds[0] }),
      ],
      [
        'mutation ($b: ID!, $p: ID!) { setReorderLevel(branchId: $b, productId: $p, expectedVersion: 1, reorderLevel: 1) { __typename ... on NotFound { entity id message } } }',
        (id) => ({ b: id, p: s.productIds[0] }),
      ],
      [
        'mutation ($b: ID!, $p: ID!) { placeOrder(input: { branchId: $b, items: [{ productId: $p, quantity: 1 }] }) { __typename ... on NotFound { entity id message } } }',
        (id) => ({ b: id, p: s.productIds[0] }),
      ],
      [
        'mutation ($id: ID!) { payOrder(id: $id, expectedVersion: 1) { __typename ... on NotFound { entity id message } } }',
        (id) => ({ id }),
      ],
      [
        'mutation ($id: ID!) { cancelOrder(id: $id, expectedVersion: 1) { __typename ... on NotFound { entity id message } } }',
        (id) => ({ id }),
      ],
    ];
    for (const [q, vars] of writes) {
      const target = q.includes('Order(id') ? hb.order.id : s.branches.HB;
      const hidden = await t.gql(q, vars(target), clerk);
      const missing = await t.gql(q, vars(unknown), clerk);
      expect(hidden.errors, q).toBeUndefined();
      expect(JSON.stringify(hidden.data)).toContain('"__typename":"NotFound"');
      expect(masked(hidden, target), q).toEqual(masked(missing, unknown));
    }
    expect(await checksum(t)).toEqual(before);
  });

  it('does not let a clerk change prices (or other product fields) or adjust stock', async () => {
    const before = await checksum(t);
    const { rows } = await t.db.pool.query('SELECT version FROM products WHERE id = $1', [s.productIds[0]]);
    const price = await t.gql(
      `mutation ($id: ID!, $v: Int!) { updateProduct(id: $id, expectedVersion: $v, patch: { unitPrice: "0.01" }) {
         __typename ... on Error { message } } }`,
      { id: s.productIds[0], v: rows[0].version },
      clerk,
    );
    expect(price.data?.updateProduct.__typename).toBe('Forbidden');
    const adjust = await t.gql(
      `mutation ($b: ID!, $p: ID!) { adjustStock(branchId: $b, productId: $p, delta: 5, reason: "x") { __typename } }`,
      { b: s.branches.DT, p: s.productIds[0] },
      clerk,
    );
    expect(adjust.data?.adjustStock.__typename).toBe('Forbidden');
    const create = await t.gql(
      'mutation { createProduct(input: { sku: "NEW-1", name: "New", unitPrice: "1.00" }) { __typename } }',
      {},
      clerk,
    );
    expect(create.data?.createProduct.__typename).toBe('Forbidden');
    expect(await checksum(t)).toEqual(before);
  });
});

/**
 * The role matrix of docs/api.md ("Who sees and does what"), row by row, for each role: what
 * succeeds, and what is refused with Forbidden in plain words (no internal names) while changing
 * nothing. Clerks sell, receive and count, but not beyond CLERK_MAX_STOCK_CHANGE (50 here), never
 * cancel a paid order and never change prices.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksum, login, ok, type Sample, sample, TABLES } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

type Role = 'ADMIN' | 'MANAGER' | 'CLERK';
type Result = { __typename: string; message?: string };

let t: TestApp;
let s: Sample;
const tokens = {} as Record<Role, string>;
let admin: string;
let product: string;

beforeAll(async () => {
  t = await startTestApp({ seed: true });
  s = await sample(t);
  // manager.dt and clerk.dt work at DT and HB here, so a transfer is about the role, not the branch.
  await t.db.pool.query(
    `INSERT INTO user_branches (user_id, branch_id)
     SELECT id, $1 FROM users WHERE email IN ('manager.dt@example.com', 'clerk.dt@example.com')`,
    [s.branches.HB],
  );
  [tokens.ADMIN, tokens.MANAGER, tokens.CLERK] = await Promise.all([
    login(t, 'admin@example.com'),
    login(t, 'manager.dt@example.com'),
    login(t, 'clerk.dt@example.com'),
  ]);
  admin = tokens.ADMIN;
  product = s.productIds[3] as string;
});
afterAll(async () => {
  await t?.stop();
});

const RESULT = '__typename ... on Error { message }';

async function call(field: string, query: string, variables: Record<string, unknown>, token: string) {
  const res = await t.gql(query, variables, token);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data?.[field] as Result;
}

async function placeOrder(quantity = 1): Promise<{ id: string; version: number }> {
  const order = ok(
    await t.gql(
      `mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) {
         __typename ... on MutationPlaceOrderSuccess { data { id version } } } }`,
      { input: { branchId: s.branches.DT, items: [{ productId: product, quantity }] } },
      admin,
    ),
    'placeOrder',
  );
  return order;
}

async function stockLevel(branch = 'DT') {
  const { rows } = await t.db.pool.query(
    'SELECT quantity, version FROM stock_levels WHERE branch_id = $1 AND product_id = $2',
    [s.branches[branch], product],
  );
  return rows[0] as { quantity: number; version: number };
}

/**
 * One row of the matrix: `prepare` makes what the action needs (as the admin) and gives its
 * variables; then `query` runs as the role.
 */
interface Case {
  action: string;
  field: string;
  query: string;
  prepare: () => Promise<Record<string, unknown>>;
  /** 'ok', or the refusal's exact message. */
  expect: Record<Role, 'ok' | string>;
}

const everyone = { ADMIN: 'ok', MANAGER: 'ok', CLERK: 'ok' } as const;
const managers = (refusal: string) => ({ ADMIN: 'ok', MANAGER: 'ok', CLERK: refusal });
const admins = (refusal: string) => ({ ADMIN: 'ok', MANAGER: refusal, CLERK: refusal });

const ORDER_STATUS = (op: string) =>
  `mutation ($id: ID!, $v: Int!) { ${op}(id: $id, expectedVersion: $v) { ${RESULT} } }`;
const COUNT = `mutation ($b: ID!, $p: ID!, $c: Int!, $v: Int!) {
  countStock(branchId: $b, productId: $p, counted: $c, expectedVersion: $v) { ${RESULT} } }`;
const RECEIVE = `mutation ($b: ID!, $p: ID!, $q: Int!) {
  receiveStock(branchId: $b, productId: $p, quantity: $q) { ${RESULT} } }`;
const CREATE_USER = `mutation ($input: CreateUserInput!) { createUser(input: $input) {
  __typename ... on MutationCreateUserSuccess { data { user { id } } } ... on Error { message } } }`;
const clerkInput = () => ({
  input: {
    name: 'Temp',
    email: `temp.${randomUUID().slice(0, 8)}@example.com`,
    role: 'CLERK',
    branchIds: [s.branches.DT],
  },
});

const CASES: Case[] = [
  {
    action: 'sell: placeOrder',
    field: 'placeOrder',
    query: `mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { ${RESULT} } }`,
    prepare: async () => ({
      input: { branchId: s.branches.DT, items: [{ productId: product, quantity: 1 }] },
    }),
    expect: everyone,
  },
  {
    action: 'sell: payOrder',
    field: 'payOrder',
    query: ORDER_STATUS('payOrder'),
    prepare: async () => {
      const o = await placeOrder();
      return { id: o.id, v: o.version };
    },
    expect: everyone,
  },
  {
    action: 'cancelOrder of a placed (unpaid) order',
    field: 'cancelOrder',
    query: ORDER_STATUS('cancelOrder'),
    prepare: async () => {
      const o = await placeOrder();
      return { id: o.id, v: o.version };
    },
    expect: everyone,
  },
  {
    action: 'cancelOrder of a paid order (a refund)',
    field: 'cancelOrder',
    query: ORDER_STATUS('cancelOrder'),
    prepare: async () => {
      const o = await placeOrder();
      const paid = ok(
        await t.gql(
          `mutation ($id: ID!, $v: Int!) { payOrder(id: $id, expectedVersion: $v) {
             __typename ... on MutationPayOrderSuccess { data { version } } } }`,
          { id: o.id, v: o.version },
          admin,
        ),
        'payOrder',
      );
      return { id: o.id, v: paid.version };
    },
    expect: managers('Only a manager can cancel a paid order'),
  },
  {
    action: 'receiveStock up to the limit (50)',
    field: 'receiveStock',
    query: RECEIVE,
    prepare: async () => ({ b: s.branches.DT, p: product, q: 50 }),
    expect: everyone,
  },
  {
    action: 'receiveStock beyond the limit',
    field: 'receiveStock',
    query: RECEIVE,
    prepare: async () => ({ b: s.branches.DT, p: product, q: 51 }),
    expect: managers('Only a manager can receive more than 50 at once'),
  },
  {
    action: 'countStock changing the quantity by up to the limit',
    field: 'countStock',
    query: COUNT,
    prepare: async () => {
      const level = await stockLevel();
      return { b: s.branches.DT, p: product, c: Math.max(0, level.quantity - 50), v: level.version };
    },
    expect: everyone,
  },
  {
    action: 'countStock changing the quantity by more than the limit',
    field: 'countStock',
    query: COUNT,
    prepare: async () => {
      const level = await stockLevel();
      return { b: s.branches.DT, p: product, c: level.quantity + 51, v: level.version };
    },
    expect: managers('Only a manager can record a count that changes the quantity by more than 50'),
  },
  {
    action: 'adjustStock',
    field: 'adjustStock',
    query: `mutation ($b: ID!, $p: ID!) { adjustStock(branchId: $b, productId: $p, delta: 1, reason: "found") { ${RESULT} } }`,
    prepare: async () => ({ b: s.branches.DT, p: product }),
    expect: managers('Only a manager can adjust or transfer stock'),
  },
  {
    action: 'transferStock',
    field: 'transferStock',
    query: `mutation ($f: ID!, $to: ID!, $p: ID!) {
      transferStock(fromBranchId: $f, toBranchId: $to, productId: $p, quantity: 1) { ${RESULT} } }`,
    prepare: async () => ({ f: s.branches.DT, to: s.branches.HB, p: product }),
    expect: managers('Only a manager can adjust or transfer stock'),
  },
  {
    action: 'change a price: updateProduct',
    field: 'updateProduct',
    query: `mutation ($id: ID!, $v: Int!) {
      updateProduct(id: $id, expectedVersion: $v, patch: { unitPrice: "9.99" }) { ${RESULT} } }`,
    prepare: async () => {
      const { rows } = await t.db.pool.query('SELECT version FROM products WHERE id = $1', [product]);
      return { id: product, v: rows[0].version };
    },
    expect: managers('Only a manager can change products and prices'),
  },
  {
    action: 'createProduct',
    field: 'createProduct',
    query: `mutation ($sku: String!) { createProduct(input: { sku: $sku, name: "New", unitPrice: "1.00" }) { ${RESULT} } }`,
    prepare: async () => ({ sku: `R-${randomUUID().slice(0, 8)}` }),
    expect: managers('Only a manager can change products and prices'),
  },
  {
    action: 'setReorderLevel',
    field: 'setReorderLevel',
    query: `mutation ($b: ID!, $p: ID!, $v: Int!) {
      setReorderLevel(branchId: $b, productId: $p, expectedVersion: $v, reorderLevel: 7) { ${RESULT} } }`,
    prepare: async () => ({ b: s.branches.DT, p: product, v: (await stockLevel()).version }),
    expect: managers('Only a manager can change reorder levels'),
  },
  {
    action: 'createCustomer (home branch DT)',
    field: 'createCustomer',
    query: `mutation ($b: ID!) { createCustomer(input: { name: "Walk-in", homeBranchId: $b }) { ${RESULT} } }`,
    prepare: async () => ({ b: s.branches.DT }),
    expect: { ADMIN: 'ok', MANAGER: 'ok', CLERK: 'ok' },
  },
  {
    action: 'updateCustomer (home branch DT)',
    field: 'updateCustomer',
    query: `mutation ($id: ID!, $v: Int!) {
      updateCustomer(id: $id, expectedVersion: $v, patch: { notes: "regular" }) { ${RESULT} } }`,
    prepare: async () => {
      const { rows } = await t.db.pool.query(
        'SELECT id, version FROM customers WHERE home_branch_id = $1 ORDER BY name LIMIT 1',
        [s.branches.DT],
      );
      return { id: rows[0].id, v: rows[0].version };
    },
    expect: managers('Only a manager can edit or archive customers'),
  },
  {
    action: 'createBranch',
    field: 'createBranch',
    query: `mutation ($code: String!) { createBranch(input: { code: $code, name: "Pop-up" }) { ${RESULT} } }`,
    prepare: async () => ({ code: `P${randomUUID().replace(/-/g, '').slice(0, 8)}` }),
    expect: admins('Only an admin can add or change branches'),
  },
  {
    action: 'createApiToken',
    field: 'createApiToken',
    query: `mutation { createApiToken(name: "integration") { ${RESULT} } }`,
    prepare: async () => ({}),
    expect: admins('Only an admin can manage API tokens'),
  },
  {
    action: 'createUser (a clerk of DT)',
    field: 'createUser',
    query: `mutation ($input: CreateUserInput!) { createUser(input: $input) { ${RESULT} } }`,
    prepare: async () => clerkInput(),
    expect: managers('Only a manager or an admin can manage users'),
  },
  {
    action: 'resetPassword (a clerk of DT)',
    field: 'resetPassword',
    query: `mutation ($id: ID!) { resetPassword(id: $id) { ${RESULT} } }`,
    prepare: async () => ({ id: ok(await t.gql(CREATE_USER, clerkInput(), admin), 'createUser').user.id }),
    expect: managers('Only a manager or an admin can manage users'),
  },
];

const ROLES = ['ADMIN', 'MANAGER', 'CLERK'] as const;
const ROWS = CASES.flatMap((c) => ROLES.map((role) => [c.action, role, c] as const));

describe('role matrix (docs/api.md)', () => {
  it.each(ROWS)('%s as %s', async (_action, role, c) => {
    const variables = await c.prepare();
    const expected = c.expect[role];
    const before =
      expected === 'ok' ? undefined : await checksum(t, TABLES, { api_tokens: ['last_used_at'] });
    const result = await call(c.field, c.query, variables, tokens[role]);
    if (expected === 'ok') {
      expect(result.__typename, JSON.stringify(result)).toMatch(/Success$/);
      return;
    }
    expect(result).toEqual({ __typename: 'Forbidden', message: expected });
    // Plain words: no internal names such as "(editCustomers)".
    expect(result.message).not.toMatch(/[()]|[a-z][A-Z]/);
    expect(await checksum(t, TABLES, { api_tokens: ['last_used_at'] })).toEqual(before);
  });
});

/**
 * Malformed input changes nothing and crashes nothing: every mutation gets each of its fields
 * replaced, one at a time, by bad values (wrong type, empty, oversize, negative, out of range,
 * not a UUID, unknown ids, stale versions, control characters, 201 order lines...). Each answer
 * must be a typed error or a GraphQL input error, never a masked internal error, and a checksum
 * of every table must be unchanged afterwards.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksum, login, type Sample, sample } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
let s: Sample;
let admin: string;
let ids: {
  product: string;
  productV: number;
  customer: string;
  customerV: number;
  order: string;
  orderV: number;
  stockV: number;
};
beforeAll(async () => {
  t = await startTestApp({ seed: true });
  s = await sample(t);
  admin = await login(t, 'admin@example.com');
  const q = async (sql: string, p: unknown[] = []) => (await t.db.pool.query(sql, p)).rows[0];
  const product = await q('SELECT id, version FROM products WHERE id = $1', [s.productIds[0]]);
  const customer = await q('SELECT id, version FROM customers LIMIT 1');
  const order = await q("SELECT id, version FROM orders WHERE status = 'PLACED' LIMIT 1");
  const stock = await q('SELECT version FROM stock_levels WHERE branch_id = $1 AND product_id = $2', [
    s.branches.DT,
    s.productIds[0],
  ]);
  ids = {
    product: product.id,
    productV: product.version,
    customer: customer.id,
    customerV: customer.version,
    order: order.id,
    orderV: order.version,
    stockV: stock.version,
  };
});
afterAll(async () => {
  await t?.stop();
});

const long = (n: number) => 'x'.repeat(n);
const BAD = {
  id: ['', 'x', '123', "' OR 1=1 --", long(5000), 42, null, randomUUID()],
  int: [0, -1, -2147483648, 2147483647, 1.5, '5', null, 1e12],
  version: [0, -3, 999999, 2147483647, 1.5, 'x', null],
  name: ['', '   ', long(201), 'a\u0000b', 'line\nbreak', 7, null],
  decimal: ['-1.00', 'abc', '1.234', '12345678901.00', 'NaN', '1e5', '', null, -5],
  key: ['', long(201)],
};

type Case = { name: string; query: string; base: Record<string, unknown>; bad: Record<string, unknown[]> };

const R = '{ __typename ... on Error { message } }';
const cases = (): Case[] => [
  {
    name: 'createProduct',
    query: `mutation ($sku: String!, $name: String!, $price: Decimal!, $id: ID, $desc: String, $key: String) {
      createProduct(input: { id: $id, sku: $sku, name: $name, unitPrice: $price, description: $desc }, idempotencyKey: $key) ${R} }`,
    base: { sku: 'FUZZ-1', name: 'Fuzz', price: '1.00' },
    bad: {
      sku: [...BAD.name, long(65), 'SKU-0001'],
      name: BAD.name,
      price: BAD.decimal,
      id: [...BAD.id.slice(0, 5), s.productIds[1]],
      desc: [long(4001), 'a\u0000'],
      key: BAD.key,
    },
  },
  {
    name: 'updateProduct',
    query: `mutation ($id: ID!, $v: Int!, $name: String, $price: Decimal, $sku: String, $key: String) {
      updateProduct(id: $id, expectedVersion: $v, patch: { name: $name, unitPrice: $price, sku: $sku }, idempotencyKey: $key) ${R} }`,
    base: { id: ids.product, v: ids.productV, name: 'Renamed' },
    bad: {
      id: BAD.id,
      v: [...BAD.version, ids.productV - 1],
      name: BAD.name.filter((x) => x !== null),
      price: BAD.decimal.filter((x) => x !== null),
      sku: ['SKU-0002', ''],
      key: BAD.key,
    },
  },
  {
    name: 'archiveProduct',
    query: `mutation ($id: ID!, $v: Int!) { archiveProduct(id: $id, expectedVersion: $v) ${R} }`,
    base: { id: ids.product, v: ids.productV },
    bad: { id: BAD.id, v: BAD.version },
  },
  {
    name: 'createCustomer',
    query: `mutation ($name: String!, $email: String, $phone: String, $home: ID, $notes: String) {
      createCustomer(input: { name: $name, email: $email, phone: $phone, homeBranchId: $home, notes: $notes }) ${R} }`,
    base: { name: 'Fuzz Customer' },
    bad: {
      name: BAD.name,
      email: ['not-an-email', long(400), 5],
      phone: ['call me', long(41)],
      home: BAD.id.filter((x) => x !== null),
      notes: [long(4001)],
    },
  },
  {
    name: 'updateCustomer',
    query: `mutation ($id: ID!, $v: Int!, $name: String, $email: String) {
      updateCustomer(id: $id, expectedVersion: $v, patch: { name: $name, email: $email }) ${R} }`,
    base: { id: ids.customer, v: ids.customerV, name: 'Renamed' },
    bad: { id: BAD.id, v: BAD.version, name: BAD.name.filter((x) => x !== null), email: ['@@'] },
  },
  {
    name: 'createBranch',
    query: `mutation ($code: String!, $name: String!, $address: String) { createBranch(input: { code: $code, name: $name, address: $address }) ${R} }`,
    base: { code: 'FZ', name: 'Fuzz branch' },
    bad: { code: ['', 'a-b', long(17), 'DT', null], name: BAD.name, address: [long(501)] },
  },
  {
    name: 'updateBranch',
    query: `mutation ($id: ID!, $v: Int!, $code: String) { updateBranch(id: $id, expectedVersion: $v, patch: { code: $code }) ${R} }`,
    base: { id: s.branches.DT, v: 1, code: 'DTX' },
    bad: { id: BAD.id, v: BAD.version.filter((x) => x !== 1), code: ['', 'HB', 'd t'] },
  },
  {
    name: 'setReorderLevel',
    query: `mutation ($b: ID!, $p: ID!, $v: Int!, $level: Int!) { setReorderLevel(branchId: $b, productId: $p, expectedVersion: $v, reorderLevel: $level) ${R} }`,
    base: { b: s.branches.DT, p: s.productIds[0], v: ids.stockV, level: 4 },
    bad: { b: BAD.id, p: BAD.id, v: BAD.version, level: [-1, 1e7, 'x', null, 2.5] },
  },
  {
    name: 'receiveStock',
    query: `mutation ($b: ID!, $p: ID!, $q: Int!, $note: String, $key: String) { receiveStock(branchId: $b, productId: $p, quantity: $q, note: $note, idempotencyKey: $key) ${R} }`,
    base: { b: s.branches.DT, p: s.productIds[0], q: 3 },
    bad: { b: BAD.id, p: BAD.id, q: BAD.int, note: [long(501), '\u0000'], key: BAD.key },
  },
  {
    name: 'adjustStock',
    query: `mutation ($b: ID!, $p: ID!, $d: Int!, $reason: String!) { adjustStock(branchId: $b, productId: $p, delta: $d, reason: $reason) ${R} }`,
    base: { b: s.branches.DT, p: s.productIds[0], d: -1, reason: 'broken' },
    bad: {
      b: BAD.id,
      p: BAD.id,
      d: [0, -1_000_000, 2_000_000, 1.5, null],
      reason: ['', '   ', long(501), 'a\u0000b', null],
    },
  },
  {
    name: 'transferStock',
    query: `mutation ($from: ID!, $to: ID!, $p: ID!, $q: Int!) { transferStock(fromBranchId: $from, toBranchId: $to, productId: $p, quantity: $q) ${R} }`,
    base: { from: s.branches.DT, to: s.branches.HB, p: s.productIds[0], q: 1 },
    bad: {
      from: [...BAD.id, s.branches.HB],
      to: [...BAD.id, s.branches.DT],
      p: BAD.id,
      q: [...BAD.int, 1_000_000],
    },
  },
  {
    name: 'countStock',
    query: `mutation ($b: ID!, $p: ID!, $c: Int!, $v: Int!) { countStock(branchId: $b, productId: $p, counted: $c, expectedVersion: $v) ${R} }`,
    base: { b: s.branches.DT, p: s.productIds[0], c: 2, v: ids.stockV },
    bad: { b: BAD.id, p: BAD.id, c: [-1, 1e7, null, 'x'], v: BAD.version },
  },
  {
    name: 'placeOrder',
    query: `mutation ($b: ID!, $c: ID, $items: [OrderItemInput!]!) { placeOrder(input: { branchId: $b, customerId: $c, items: $items }) ${R} }`,
    base: { b: s.branches.DT, items: [{ productId: s.productIds[0], quantity: 1 }] },
    bad: {
      b: BAD.id,
      c: BAD.id.filter((x) => x !== null),
      items: [
        [],
        null,
        [{ productId: 'x', quantity: 1 }],
        [{ productId: s.productIds[0], quantity: 0 }],
        [
          { productId: s.productIds[0], quantity: 1_000_000 },
          { productId: s.productIds[0], quantity: 1 },
        ],
        [{ productId: s.productIds[0] }],
        Array.from({ length: 201 }, (_, i) => ({ productId: s.productIds[i % 60], quantity: 1 })),
        [{ productId: randomUUID(), quantity: 1 }],
        [{ productId: s.productIds[0], quantity: 100000 }],
      ],
    },
  },
  {
    name: 'payOrder',
    query: `mutation ($id: ID!, $v: Int!) { payOrder(id: $id, expectedVersion: $v) ${R} }`,
    base: { id: ids.order, v: ids.orderV },
    bad: { id: BAD.id, v: BAD.version },
  },
  {
    name: 'cancelOrder',
    query: `mutation ($id: ID!, $v: Int!) { cancelOrder(id: $id, expectedVersion: $v) ${R} }`,
    base: { id: ids.order, v: ids.orderV },
    bad: { id: BAD.id, v: BAD.version },
  },
  {
    name: 'createApiToken',
    query: `mutation ($name: String!, $user: ID, $exp: DateTime) { createApiToken(name: $name, userId: $user, expiresAt: $exp) ${R} }`,
    base: { name: 'fuzz' },
    bad: {
      name: BAD.name,
      user: BAD.id.filter((x) => x !== null),
      exp: ['yesterday', '2000-01-01T00:00:00Z', 5],
    },
  },
  {
    name: 'revokeApiToken',
    query: `mutation ($id: ID!) { revokeApiToken(id: $id) ${R} }`,
    base: { id: randomUUID() },
    bad: { id: BAD.id },
  },
];

describe('malformed input', () => {
  it('changes nothing and never fails unexpectedly', async () => {
    const before = await checksum(t);
    let sent = 0;
    const outcomes = new Map<string, number>();
    // One mutation at a time, its malformed variants concurrently.
    for (const c of cases()) {
      const variants = Object.entries(c.bad).flatMap(([field, values]) =>
        values.map((value) => ({ field, value })),
      );
      const answers = await Promise.all(
        variants.map((v) => t.gql(c.query, { ...c.base, [v.field]: v.value }, admin)),
      );
      answers.forEach((res, i) => {
        sent++;
        const label = `${c.name}.${variants[i].field}=${JSON.stringify(variants[i].value)?.slice(0, 40)}`;
        const outcome = res.errors
          ? String(res.errors[0].extensions?.code ?? res.errors[0].message)
          : String(res.data?.[c.name]?.__typename);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        expect(outcome, label).not.toMatch(/INTERNAL_SERVER_ERROR|Unexpected error|Success$/);
      });
    }
    // Requests that are not even GraphQL.
    for (const body of [
      '{"query": ',
      '[]',
      '{"query": 5}',
      JSON.stringify({ query: `{ ${'products { '.repeat(200)}` }),
    ]) {
      const res = await fetch(t.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body,
      });
      expect(res.status).toBeLessThan(500);
      sent++;
    }
    expect(sent).toBeGreaterThan(200);
    expect([...outcomes.keys()]).toEqual(
      expect.arrayContaining(['ValidationError', 'NotFound', 'VersionConflict', 'BAD_USER_INPUT']),
    );
    expect(await checksum(t)).toEqual(before);
    // Still serving.
    expect((await t.gql('{ me { email } }', {}, admin)).data?.me.email).toBe('admin@example.com');
  });

  it('masks an unexpected failure: no message, stack or SQL reaches the client', async () => {
    await t.db.pool.query(`
      CREATE FUNCTION fuzz_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'internal detail: relation secret_table'; END $$;
      CREATE TRIGGER fuzz_fail BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION fuzz_fail();`);
    try {
      const res = await t.gql(
        'mutation ($id: ID!, $v: Int!) { updateCustomer(id: $id, expectedVersion: $v, patch: { notes: "x" }) { __typename } }',
        { id: ids.customer, v: ids.customerV },
        admin,
      );
      expect(res.errors?.[0]).toMatchObject({
        message: 'Unexpected error.',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      expect(JSON.stringify(res)).not.toMatch(/secret|internal detail|UPDATE|customers|at \//);
    } finally {
      await t.db.pool.query('DROP TRIGGER fuzz_fail ON customers; DROP FUNCTION fuzz_fail();');
    }
  });

  it('names every bad field of an input in ValidationError.fieldErrors', async () => {
    const res = await t.gql(
      `mutation { createProduct(input: { sku: "", name: "${long(201)}", unitPrice: "-1.00" }) {
         __typename ... on ValidationError { message fieldErrors { path message } } } }`,
      {},
      admin,
    );
    expect(res.data?.createProduct.__typename).toBe('ValidationError');
    const paths = res.data?.createProduct.fieldErrors.map((f: { path: string[] }) => f.path.join('.'));
    expect(paths.sort()).toEqual(['name', 'sku', 'unitPrice']);
    const order = await t.gql(
      'mutation ($b: ID!) { placeOrder(input: { branchId: $b, items: [{ productId: "nope", quantity: -2 }] }) { __typename ... on ValidationError { fieldErrors { path } } } }',
      { b: s.branches.DT },
      admin,
    );
    expect(order.data?.placeOrder.fieldErrors).toEqual([
      { path: ['items', '0', 'productId'] },
      { path: ['items', '0', 'quantity'] },
    ]);
  });

  it('refuses bad paging and search arguments of list queries as BAD_USER_INPUT', async () => {
    for (const args of [
      'first: 0',
      'first: -1',
      'first: 201',
      'after: "garbage"',
      `search: "${long(201)}"`,
    ]) {
      const res = await t.gql(`{ products(${args}) { edges { node { id } } } }`, {}, admin);
      expect(res.errors?.[0].extensions?.code, args).toBe('BAD_USER_INPUT');
    }
    const badId = await t.gql('{ product(id: "not-a-uuid") { id } order(id: "1") { id } }', {}, admin);
    expect(badId).toEqual({ data: { product: null, order: null } });
  });
});

/** List and single-row queries: filters, paging, and the feed cursor of the snapshot. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, ok, type Sample, sample } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
let s: Sample;
let manager: string;
beforeAll(async () => {
  t = await startTestApp({ seed: true });
  s = await sample(t);
  manager = await login(t, 'manager.dt@example.com');
});
afterAll(async () => {
  await t?.stop();
});

const q = async (query: string, variables: Record<string, unknown> = {}) => {
  const res = await t.gql(query, variables, manager);
  expect(res.errors).toBeUndefined();
  return res.data as Record<string, any>;
};

describe('queries', () => {
  it('searches products by name or SKU and hides archived ones unless asked', async () => {
    const hammers = await q('{ products(search: "claw HAMMER") { edges { node { name } } } }');
    expect(hammers.products.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual([
      'Claw hammer (Compact)',
      'Claw hammer (Heavy-duty)',
      'Claw hammer (Pro)',
      'Claw hammer (Standard)',
    ]);
    expect((await q('{ products(search: "sku-0001") { edges { node { sku } } } }')).products.edges).toEqual([
      { node: { sku: 'SKU-0001' } },
    ]);
    const { rows } = await t.db.pool.query('SELECT version FROM products WHERE sku = $1', ['SKU-0001']);
    ok(
      await t.gql(
        'mutation ($id: ID!, $v: Int!) { archiveProduct(id: $id, expectedVersion: $v) { __typename ... on MutationArchiveProductSuccess { data { id } } } }',
        { id: s.productIds[0], v: rows[0].version },
        manager,
      ),
      'archiveProduct',
    );
    expect((await q('{ products(search: "SKU-0001") { edges { node { sku } } } }')).products.edges).toEqual(
      [],
    );
    const archived = await q(
      '{ products(search: "SKU-0001", includeArchived: true) { edges { node { active } } } }',
    );
    expect(archived.products.edges).toEqual([{ node: { active: false } }]);
  });

  it('pages through all products without repeats', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const data = await q(
        'query ($after: String) { products(first: 7, after: $after, includeArchived: true) { pageInfo { hasNextPage endCursor } edges { node { id } } } }',
        { after },
      );
      seen.push(...data.products.edges.map((e: { node: { id: string } }) => e.node.id));
      if (!data.products.pageInfo.hasNextPage) break;
      after = data.products.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(64);
    expect(new Set(seen).size).toBe(64);
  });

  it('filters low stock, and finds customers by name, email or phone', async () => {
    const low = await q(
      'query ($b: ID!) { stockLevels(branchId: $b, lowStockOnly: true, first: 200) { edges { node { quantity reorderLevel lowStock } } } }',
      { b: s.branches.DT },
    );
    const { rows } = await t.db.pool.query(
      'SELECT count(*)::int AS n FROM stock_levels WHERE branch_id = $1 AND quantity <= reorder_level',
      [s.branches.DT],
    );
    expect(rows[0].n).toBeGreaterThan(0);
    expect(low.stockLevels.edges).toHaveLength(rows[0].n);
    for (const e of low.stockLevels.edges) expect(e.node.lowStock).toBe(true);

    const byName = await q('{ customers(search: "grace") { edges { node { name email } } } }');
    expect(byName.customers.edges.length).toBeGreaterThan(0);
    for (const e of byName.customers.edges) expect(e.node.name).toMatch(/^Grace /);
    const byEmail = await q('{ customers(search: "ada.okafor@") { edges { node { name } } } }');
    expect(byEmail.customers.edges).toEqual([{ node: { name: 'Ada Okafor' } }]);
  });

  it("returns the feed position of the list's snapshot: later changes come after it", async () => {
    const before = await q('{ branches { feedCursor edges { node { id code } } } }');
    const [, xid] = before.branches.feedCursor.split(':');
    const { rows } = await t.db.pool.query(
      'SELECT version FROM stock_levels WHERE branch_id = $1 AND product_id = $2',
      [s.branches.DT, s.productIds[3]],
    );
    ok(
      await t.gql(
        'mutation ($b: ID!, $p: ID!, $v: Int!) { setReorderLevel(branchId: $b, productId: $p, expectedVersion: $v, reorderLevel: 9) { __typename } }',
        { b: s.branches.DT, p: s.productIds[3], v: rows[0].version },
        manager,
      ),
      'setReorderLevel',
    );
    const change = await t.db.pool.query(
      "SELECT xid::text AS xid FROM change_log WHERE tbl = 'stock_levels' AND changed @> ARRAY['reorder_level'] ORDER BY xid DESC LIMIT 1",
    );
    expect(BigInt(change.rows[0].xid)).toBeGreaterThanOrEqual(BigInt(xid));
    expect(before.branches.edges.map((e: { node: { code: string } }) => e.node.code)).toEqual(['DT']);
  });
});

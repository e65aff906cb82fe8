/** Field edits with expectedVersion: one atomic check-and-write, typed conflicts, history. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, ok, type Sample, sample } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
let s: Sample;
let manager: string;
let admin: string;
beforeAll(async () => {
  t = await startTestApp({ seed: true });
  s = await sample(t);
  [manager, admin] = await Promise.all([login(t, 'manager.dt@example.com'), login(t, 'admin@example.com')]);
});
afterAll(async () => {
  await t?.stop();
});

const CONFLICT = `... on VersionConflict {
  message changedFields yourPatch expectedVersion
  current { __typename ... on Product { id name unitPrice version updatedBy } ... on Customer { id name version }
            ... on Branch { id name version } ... on StockLevel { id reorderLevel version } }
}
... on Error { message }`;

const UPDATE_PRODUCT = `mutation ($id: ID!, $v: Int!, $patch: ProductPatch!) {
  updateProduct(id: $id, expectedVersion: $v, patch: $patch) {
    __typename ... on MutationUpdateProductSuccess { data { id name unitPrice version updatedBy } } ${CONFLICT}
  }
}`;

async function version(table: string, id: string): Promise<number> {
  const { rows } = await t.db.pool.query(`SELECT version FROM ${table} WHERE id = $1`, [id]);
  return rows[0].version;
}

describe('optimistic locking', () => {
  it('lets exactly one of 10 concurrent updates with the same expectedVersion win', async () => {
    const id = s.productIds[5];
    const v = await version('products', id);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t.gql(UPDATE_PRODUCT, { id, v, patch: { name: `Racer ${i}` } }, manager),
      ),
    );
    for (const r of results) expect(r.errors).toBeUndefined();
    const wins = results.filter((r) => r.data?.updateProduct.__typename === 'MutationUpdateProductSuccess');
    const conflicts = results.filter((r) => r.data?.updateProduct.__typename === 'VersionConflict');
    expect(wins).toHaveLength(1);
    expect(conflicts).toHaveLength(9);
    const winner = wins[0].data?.updateProduct.data;
    expect(winner.version).toBe(v + 1);
    expect(winner.updatedBy).toBe('manager.dt@example.com');
    for (const c of conflicts) {
      const conflict = c.data?.updateProduct;
      expect(conflict.current).toEqual({ __typename: 'Product', ...winner });
      expect(conflict.changedFields).toEqual(['name']);
      expect(conflict.expectedVersion).toBe(v);
      expect(conflict.yourPatch.name).toMatch(/^Racer \d$/);
      expect(conflict.yourPatch.name).not.toBe(winner.name);
    }
    const { rows } = await t.db.pool.query('SELECT name, version FROM products WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ name: winner.name, version: v + 1 });
  });

  it('reports the fields changed since the client version, also by writes from outside the API', async () => {
    const id = s.productIds[6];
    const v = await version('products', id);
    await t.db.pool.query("UPDATE products SET description = 'edited in psql' WHERE id = $1", [id]);
    ok(
      await t.gql(UPDATE_PRODUCT, { id, v: v + 1, patch: { unitPrice: '12.30' } }, manager),
      'updateProduct',
    );
    const res = await t.gql(UPDATE_PRODUCT, { id, v, patch: { name: 'Stale edit' } }, manager);
    const conflict = res.data?.updateProduct;
    expect(conflict.__typename).toBe('VersionConflict');
    expect(conflict.changedFields).toEqual(['description', 'unitPrice']);
    expect(conflict.current).toMatchObject({ unitPrice: '12.30', version: v + 2 });
    expect(conflict.yourPatch).toEqual({ name: 'Stale edit' });
  });

  it('versions archiving, customers, branches and reorder levels the same way', async () => {
    const product = s.productIds[7];
    const pv = await version('products', product);
    const archive = `mutation ($id: ID!, $v: Int!) { archiveProduct(id: $id, expectedVersion: $v) {
      __typename ... on MutationArchiveProductSuccess { data { active version } } ${CONFLICT} } }`;
    expect(ok(await t.gql(archive, { id: product, v: pv }, manager), 'archiveProduct')).toEqual({
      active: false,
      version: pv + 1,
    });
    expect((await t.gql(archive, { id: product, v: pv }, manager)).data?.archiveProduct.__typename).toBe(
      'VersionConflict',
    );

    const { rows } = await t.db.pool.query(
      'SELECT id, version FROM customers WHERE home_branch_id = $1 LIMIT 1',
      [s.branches.DT],
    );
    const customer = `mutation ($id: ID!, $v: Int!, $patch: CustomerPatch!) { updateCustomer(id: $id, expectedVersion: $v, patch: $patch) {
      __typename ... on MutationUpdateCustomerSuccess { data { notes version } } ${CONFLICT} } }`;
    const c1 = ok(
      await t.gql(customer, { id: rows[0].id, v: rows[0].version, patch: { notes: 'VIP' } }, manager),
      'updateCustomer',
    );
    expect(c1).toEqual({ notes: 'VIP', version: rows[0].version + 1 });
    const c2 = await t.gql(
      customer,
      { id: rows[0].id, v: rows[0].version, patch: { phone: '+44 1' } },
      manager,
    );
    expect(c2.data?.updateCustomer).toMatchObject({
      __typename: 'VersionConflict',
      changedFields: ['notes'],
    });

    const branch = `mutation ($id: ID!, $v: Int!) { updateBranch(id: $id, expectedVersion: $v, patch: { name: "Harbourside" }) {
      __typename ... on MutationUpdateBranchSuccess { data { name version } } ${CONFLICT} } }`;
    const bv = await version('branches', s.branches.HB);
    expect(ok(await t.gql(branch, { id: s.branches.HB, v: bv }, admin), 'updateBranch')).toEqual({
      name: 'Harbourside',
      version: bv + 1,
    });
    const b2 = await t.gql(branch, { id: s.branches.HB, v: bv }, admin);
    expect(b2.data?.updateBranch).toMatchObject({
      __typename: 'VersionConflict',
      current: { name: 'Harbourside' },
    });

    const reorder = `mutation ($b: ID!, $p: ID!, $v: Int!, $level: Int!) {
      setReorderLevel(branchId: $b, productId: $p, expectedVersion: $v, reorderLevel: $level) {
        __typename ... on MutationSetReorderLevelSuccess { data { reorderLevel version lowStock } } ${CONFLICT} } }`;
    const sl = await t.db.pool.query(
      'SELECT version FROM stock_levels WHERE branch_id = $1 AND product_id = $2',
      [s.branches.DT, s.productIds[8]],
    );
    const vars = { b: s.branches.DT, p: s.productIds[8], v: sl.rows[0].version };
    expect(ok(await t.gql(reorder, { ...vars, level: 1_000 }, manager), 'setReorderLevel')).toEqual({
      reorderLevel: 1000,
      version: vars.v + 1,
      lowStock: true,
    });
    const r2 = await t.gql(reorder, { ...vars, level: 3 }, manager);
    expect(r2.data?.setReorderLevel).toMatchObject({
      __typename: 'VersionConflict',
      changedFields: ['reorderLevel'],
      current: { __typename: 'StockLevel', reorderLevel: 1000 },
      yourPatch: { reorderLevel: 3 },
    });
  });

  it('keeps the history of a record: who changed which fields, when, with the values', async () => {
    const id = s.productIds[9];
    const v = await version('products', id);
    ok(await t.gql(UPDATE_PRODUCT, { id, v, patch: { name: 'History A' } }, manager), 'updateProduct');
    ok(await t.gql(UPDATE_PRODUCT, { id, v: v + 1, patch: { unitPrice: '1.05' } }, admin), 'updateProduct');
    const res = await t.gql(
      'query ($id: ID!) { history(table: PRODUCTS, id: $id) { op version changedFields actor at values } }',
      { id },
      manager,
    );
    expect(res.errors).toBeUndefined();
    const entries = res.data?.history;
    expect(
      entries.map((e: { op: string; actor: string; changedFields: string[] }) => [
        e.op,
        e.actor,
        e.changedFields,
      ]),
    ).toEqual([
      ['INSERT', 'seed', []],
      ['UPDATE', 'manager.dt@example.com', ['name']],
      ['UPDATE', 'admin@example.com', ['unitPrice']],
    ]);
    expect(entries[2].values).toMatchObject({ name: 'History A', unitPrice: 1.05, version: v + 2 });
  });
});

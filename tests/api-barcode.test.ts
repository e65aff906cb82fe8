/** Products' barcodes: unique like the SKU, searchable, editable (empty clears); clerks add customers. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, ok } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
let manager: string;
let clerk: string;
beforeAll(async () => {
  t = await startTestApp({ seed: true });
  [manager, clerk] = await Promise.all([
    login(t, 'manager.dt@example.com'),
    login(t, 'clerk.dt@example.com'),
  ]);
});
afterAll(async () => {
  await t?.stop();
});

const PRODUCT = 'id sku barcode version';
const ERR = '__typename ... on Error { message } ... on ValidationError { fieldErrors { path message } }';
const CREATE = `mutation ($input: CreateProductInput!) { createProduct(input: $input) {
  ${ERR} ... on MutationCreateProductSuccess { data { ${PRODUCT} } } } }`;
const UPDATE = `mutation ($id: ID!, $v: Int!, $patch: ProductPatch!) { updateProduct(id: $id, expectedVersion: $v, patch: $patch) {
  ${ERR} ... on MutationUpdateProductSuccess { data { ${PRODUCT} } } } }`;
const SEARCH = `query ($q: String!) { products(search: $q, first: 10) { edges { node { id sku barcode } } } }`;

const sku = () => `BC-${randomUUID().slice(0, 8)}`;
const ean = () => `40${String(Math.floor(Math.random() * 1e11)).padStart(11, '0')}`;

describe('barcodes', () => {
  it('are unique across products, on create and on update, and named as such', async () => {
    const code = ean();
    const a = ok(
      await t.gql(
        CREATE,
        { input: { sku: sku(), name: 'Scanned', unitPrice: '1.00', barcode: code } },
        manager,
      ),
      'createProduct',
    );
    expect(a.barcode).toBe(code);
    const dup = await t.gql(
      CREATE,
      { input: { sku: sku(), name: 'Twin', unitPrice: '1.00', barcode: code } },
      manager,
    );
    expect(dup.data?.createProduct).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['barcode'], message: 'is already in use' }],
    });
    const b = ok(
      await t.gql(CREATE, { input: { sku: sku(), name: 'Other', unitPrice: '1.00' } }, manager),
      'createProduct',
    );
    expect(b.barcode).toBeNull();
    const clash = await t.gql(UPDATE, { id: b.id, v: b.version, patch: { barcode: code } }, manager);
    expect(clash.data?.updateProduct).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['barcode'], message: 'is already in use' }],
    });
    const skuClash = await t.gql(UPDATE, { id: b.id, v: b.version, patch: { sku: a.sku } }, manager);
    expect(skuClash.data?.updateProduct.fieldErrors).toEqual([
      { path: ['sku'], message: 'is already in use' },
    ]);
    const bad = await t.gql(UPDATE, { id: b.id, v: b.version, patch: { barcode: '12 34<script>' } }, manager);
    expect(bad.data?.updateProduct.__typename).toBe('ValidationError');
    // Several products without a barcode are fine; an empty barcode clears it.
    const cleared = ok(
      await t.gql(UPDATE, { id: a.id, v: a.version, patch: { barcode: '' } }, manager),
      'updateProduct',
    );
    expect(cleared.barcode).toBeNull();
    const taken = ok(
      await t.gql(UPDATE, { id: b.id, v: b.version, patch: { barcode: code } }, manager),
      'updateProduct',
    );
    expect(taken.barcode).toBe(code);
  });

  it('are searchable like names and SKUs', async () => {
    const code = ean();
    const p = ok(
      await t.gql(
        CREATE,
        { input: { sku: sku(), name: 'Found by scan', unitPrice: '2.00', barcode: code } },
        manager,
      ),
      'createProduct',
    );
    for (const q of [code, code.slice(3, 10)]) {
      const res = await t.gql(SEARCH, { q }, clerk);
      expect(res.errors).toBeUndefined();
      expect(res.data?.products.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(p.id);
    }
  });

  it('clerks add customers (at the till) but do not edit them', async () => {
    const created = await t.gql(
      `mutation { createCustomer(input: { name: "Ada Walk-in", phone: "+44 20 7946 0000", email: "ada@example.org" }) {
         ${ERR} ... on MutationCreateCustomerSuccess { data { id name version } } } }`,
      {},
      clerk,
    );
    const c = ok(created, 'createCustomer');
    expect(c.name).toBe('Ada Walk-in');
    const edit = await t.gql(
      `mutation ($id: ID!, $v: Int!) { updateCustomer(id: $id, expectedVersion: $v, patch: { name: "Ada" }) { ${ERR} } }`,
      { id: c.id, v: c.version },
      clerk,
    );
    expect(edit.data?.updateCustomer).toMatchObject({ __typename: 'Forbidden' });
  });
});

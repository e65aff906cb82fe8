/** Depth and size limits refuse a document before anything runs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;
let admin: string;
beforeAll(async () => {
  t = await startTestApp({ seed: true });
  admin = await login(t, 'admin@example.com');
});
afterAll(async () => {
  await t?.stop();
});

describe('query limits', () => {
  it('refuses queries nested too deeply, also through fragments', async () => {
    const nest = (n: number): string => (n === 0 ? 'id' : `product { stockLevels { ${nest(n - 1)} } }`);
    const deep = await t.gql(
      `{ products(first: 1) { edges { node { stockLevels { ${nest(5)} } } } } }`,
      {},
      admin,
    );
    expect(deep.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(deep.data).toBeUndefined();
    const viaFragments = await t.gql(
      `{ products(first: 1) { edges { node { ...A } } } }
       fragment A on Product { stockLevels { product { ...B } } }
       fragment B on Product { stockLevels { product { stockLevels { product { stockLevels { product { stockLevels { product { id } } } } } } } } }`,
      {},
      admin,
    );
    expect(viaFragments.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    const fine = await t.gql(
      `{ products(first: 1) { edges { node { stockLevels { ${nest(2)} } } } } }`,
      {},
      admin,
    );
    expect(fine.errors).toBeUndefined();
  });

  it('refuses documents selecting too many fields', async () => {
    const aliases = Array.from({ length: 800 }, (_, i) => `a${i}: me { id email }`).join(' ');
    const res = await t.gql(`{ ${aliases} }`, {}, admin);
    expect(res.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });
});

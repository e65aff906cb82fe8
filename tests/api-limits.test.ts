/**
 * The document limits (src/limits/): each refuses before anything runs, with QUERY_TOO_COMPLEX or
 * PAYLOAD_TOO_LARGE naming the rule and the limit; the web app's own operations pass them all; the
 * parse cache keeps only accepted documents. Small limits on a second server make the edges cheap.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatDocument } from '@urql/core';
import type { DocumentNode } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type App, buildApp } from '../src/app.ts';
import { DEFAULT_DOCUMENT_LIMITS, documentLimits } from '../src/limits/index.ts';
import { graphql } from '../src/listeners/graphql.ts';
import { schema } from '../src/schema/index.ts';
import { login } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { testLog } from './helpers/db.ts';
import { subscribeWs, wsClient } from './helpers/feed.ts';

// Every document the web app builds with gql, exported or not, as its modules are imported.
const { built, recording } = vi.hoisted(() => {
  const built: DocumentNode[] = [];
  const recording = async (importOriginal: () => Promise<Record<string, unknown>>) => {
    const m = await importOriginal();
    const gql = m.gql as (...args: unknown[]) => DocumentNode;
    return {
      ...m,
      gql: (...args: unknown[]) => {
        const doc = gql(...args);
        built.push(doc);
        return doc;
      },
    };
  };
  return { built, recording };
});
vi.mock('urql', recording);
vi.mock('@urql/core', recording);

let t: TestApp;
let admin: string;
/** The same server with small limits. */
let small: App;
let smallUrl: string;
beforeAll(async () => {
  t = await startTestApp({ seed: true });
  admin = await login(t, 'admin@example.com');
  small = buildApp({
    databaseUrl: t.db.url,
    log: testLog,
    poolSize: 2,
    documents: { maxDepth: 4, maxDirectives: 2, maxTokens: 60, maxCost: 500, maxBodyBytes: 4096 },
  });
  smallUrl = `${(await small.start(0, '127.0.0.1')).url}/graphql`;
});
afterAll(async () => {
  await small?.stop();
  await t?.stop();
});

async function gqlSmall(query: string, variables?: Record<string, unknown>) {
  const res = await fetch(smallUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: { message: string; extensions?: any }[] };
}

const refusal = (res: { errors?: { message: string; extensions?: any }[]; data?: unknown }) => {
  expect(res.data).toBeUndefined();
  expect(res.errors).toHaveLength(1);
  expect(res.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
  return res.errors?.[0].message;
};

describe('query limits', () => {
  it('refuses deep product/stock nesting, also through fragments, by cost at the defaults', async () => {
    const nest = (n: number): string => (n === 0 ? 'id' : `product { stockLevels { ${nest(n - 1)} } }`);
    const deep = await t.gql(
      `{ products(first: 1) { edges { node { stockLevels { ${nest(5)} } } } } }`,
      {},
      admin,
    );
    expect(refusal(deep)).toMatch(/cost units \(fields times list sizes\); the limit is 50000 \(MAX_COST\)/);
    const viaFragments = await t.gql(
      `{ products(first: 1) { edges { node { ...A } } } }
       fragment A on Product { stockLevels { product { ...B } } }
       fragment B on Product { stockLevels { product { stockLevels { product { stockLevels { product { stockLevels { product { id } } } } } } } } }`,
      {},
      admin,
    );
    expect(refusal(viaFragments)).toMatch(/MAX_COST/);
    const fine = await t.gql(
      `{ products(first: 1) { edges { node { stockLevels { ${nest(2)} } } } } }`,
      {},
      admin,
    );
    expect(fine.errors).toBeUndefined();
  });

  it('refuses more than 50 aliases', async () => {
    const aliases = Array.from({ length: 100 }, (_, i) => `a${i}: me { id email }`).join(' ');
    expect(refusal(await t.gql(`{ ${aliases} }`, {}, admin))).toBe(
      'Query refused: 100 aliases; the limit is 50 (MAX_ALIASES)',
    );
  });

  it('refuses depth, directives and tokens over their limits', async () => {
    expect((await gqlSmall('{ me { branches { id } } }')).errors).toBeUndefined();
    expect(refusal(await gqlSmall('{ stockLevels(first: 1) { edges { node { product { id } } } } }'))).toBe(
      'Query refused: 5 levels of nesting; the limit is 4 (MAX_DEPTH)',
    );
    expect(
      refusal(
        await gqlSmall('{ me { id @include(if: true) email @skip(if: false) name @include(if: true) } }'),
      ),
    ).toBe('Query refused: 3 directives; the limit is 2 (MAX_DIRECTIVES)');
    expect(refusal(await gqlSmall(`{ ${'__typename '.repeat(59)}}`))).toBe(
      'Query refused: more than 60 tokens; the limit is 60 (MAX_TOKENS)',
    );
    expect((await gqlSmall(`{ ${'__typename '.repeat(58)}}`)).errors).toBeUndefined();
  });

  it('counts cost by `first` (or its variable), the default page and Order.items', async () => {
    // products(first: 40): 1 + 40 x (edges 1 + node 1 + id 1 + name 1) = 161.
    expect((await gqlSmall('{ products(first: 40) { edges { node { id name } } } }')).errors).toBeUndefined();
    expect(refusal(await gqlSmall('{ products(first: 200) { edges { node { id name } } } }'))).toBe(
      'Query refused: 801 cost units (fields times list sizes); the limit is 500 (MAX_COST)',
    );
    // A variable counts as the value sent (or declared as its default) when the operation runs.
    const byVariable = 'query ($n: Int) { products(first: $n) { edges { node { id name } } } }';
    expect((await gqlSmall(byVariable, { n: 40 })).errors).toBeUndefined();
    expect(refusal(await gqlSmall(byVariable, { n: 200 }))).toMatch(/^Query refused: 801 cost units/);
    const overWs = wsClient(smallUrl.replace(/^http/, 'ws'), admin);
    const viaWs = subscribeWs(overWs, byVariable, { n: 200 }, 'products');
    await viaWs.ended;
    void overWs.dispose();
    expect(viaWs.errors.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_COMPLEX']);
    const byDefault = 'query ($n: Int = 200) { products(first: $n) { edges { node { id name } } } }';
    expect(refusal(await gqlSmall(byDefault))).toMatch(/^Query refused: 801 cost units/);
    // No `first`: the default page of 50.
    expect((await gqlSmall('{ products { edges { node { id name } } } }')).errors).toBeUndefined();
    // orders(first: 30) x (edges, node, 20 items x id): 1 + 30 x (1 + 1 + 1 + 20) = 691.
    expect(refusal(await gqlSmall('{ orders(first: 30) { edges { node { items { id } } } } }'))).toMatch(
      /^Query refused: 691 cost units/,
    );
  });

  it('refuses a second login selection, also through fragments', async () => {
    const twice = await t.gql(
      `mutation { ...L ...M }
       fragment L on Mutation { a: login(email: "admin@example.com", password: "x") { __typename } }
       fragment M on Mutation { b: login(email: "admin@example.com", password: "branchline") { __typename } }`,
    );
    expect(refusal(twice)).toBe(
      'Query refused: 2 selections of login in one operation; the limit is 1 (one password per request)',
    );
  });

  it('refuses bodies, GET URLs and graphql-ws messages over MAX_BODY_BYTES with 413', async () => {
    const query = `{ __typename ${'# padding\n'.repeat(500)}}`;
    const declared = await fetch(smallUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    expect(declared.status).toBe(413);
    const body = await declared.json();
    expect(body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.errors[0].message).toBe(
      'Request refused: the request body is over the limit of 4096 bytes (MAX_BODY_BYTES)',
    );
    // No Content-Length: counted as the bytes arrive.
    const chunks = new TextEncoder().encode(JSON.stringify({ query }));
    const streamed = await fetch(smallUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < chunks.length; i += 1000) c.enqueue(chunks.slice(i, i + 1000));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await streamed.json()).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');

    const get = await fetch(`${smallUrl}?query=${encodeURIComponent(query)}`, {
      headers: { accept: 'application/json', 'x-graphql-yoga-csrf': '1' },
    });
    expect(get.status).toBe(413);
    expect((await get.json()).errors[0].message).toMatch(
      /^Request refused: the URL is over the limit of 4096/,
    );

    const socket = new WebSocket(smallUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const code = await new Promise<number>((resolve) => {
      socket.on('open', () =>
        socket.send(
          JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${admin}` } }),
        ),
      );
      socket.on('message', () =>
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } })),
      );
      socket.on('close', (c) => resolve(c));
      socket.on('error', () => {});
    });
    expect(code).toBe(1009);
  });

  it('refuses bracket nesting in the source and in the variables over MAX_NESTING before parsing', async () => {
    // 10,000 nested list literals overflowed graphql-js's recursive parser (HTTP 500) before.
    const deep = `query ($x: [String]) { products(search: ${'['.repeat(10_000)}${']'.repeat(10_000)}) { feedCursor } }`;
    const started = performance.now();
    const res = await t.gql(deep, {}, admin);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(refusal(res)).toMatch(/10002 levels of brackets; the limit is 64 \(MAX_NESTING\)/);
    // Brackets inside strings and comments do not count; 64 levels pass the check.
    const quoted = await t.gql(
      `# ${'['.repeat(500)}\n{ products(search: "${'{'.repeat(150)}") { feedCursor } }`,
      {},
      admin,
    );
    expect(quoted.errors).toBeUndefined();
    // Variables nested 10,000 deep: refused, over HTTP like over graphql-ws (the corpus covers both).
    // (Sent as raw JSON text: JSON.stringify itself overflows on such a value.)
    const raw = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: `{"query":"query ($v: [String]) { __typename }","variables":{"v":${'['.repeat(10_000)}"x"${']'.repeat(10_000)}}}`,
    });
    const vars = (await raw.json()) as { data?: unknown; errors?: { message: string; extensions?: any }[] };
    expect(refusal(vars)).toMatch(/levels of nesting in the variables; the limit is 64/);
  });

  it('answers GET variables that are not JSON with 400 BAD_REQUEST, not 500', async () => {
    const res = await fetch(
      `${t.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}&variables=%7Bnot-json`,
      {
        headers: { 'x-graphql-yoga-csrf': '1', accept: 'application/json' },
      },
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(body.errors[0].message).toMatch(/"variables" parameter is not valid JSON/);
  });

  it('passes every operation the web app sends', async () => {
    const root = path.resolve(import.meta.dirname, '../web/src');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter(
      (f) => /\.tsx?$/.test(f) && readFileSync(path.join(root, f), 'utf8').includes('gql`'),
    );
    for (const f of files) await import(path.join(root, f));
    const operations = built.filter((d) => d.definitions.some((def) => def.kind === 'OperationDefinition'));
    expect(operations.length).toBeGreaterThan(25);
    const enveloped = t.app.yoga.getEnveloped({});
    for (const doc of operations) {
      // As urql sends it: __typename added to every selection set.
      const source = graphql.print(formatDocument(doc));
      const errors = enveloped.validate(enveloped.schema, enveloped.parse(source));
      expect(errors, source.slice(0, 80)).toEqual([]);
    }
  });
});

describe('parse cache', () => {
  it('keeps accepted documents only, within its bound', async () => {
    const limits = documentLimits({ ...DEFAULT_DOCUMENT_LIMITS, documentCacheChars: 32 * 1024 });
    const yoga = createYoga({
      schema,
      plugins: limits.plugins,
      parserAndValidationCache: limits.parserAndValidationCache,
      maxRequestBodySize: limits.maxRequestBodySize,
    });
    const ask = async (query: string) => {
      const res = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
      return (await res.json()) as { data?: unknown; errors?: unknown[] };
    };
    expect((await ask('{ __typename }')).data).toEqual({ __typename: 'Query' });
    expect(limits.cache.size()).toBe(1);
    // Refused (aliases, cost, tokens) or invalid: never kept.
    await ask(`{ ${Array.from({ length: 51 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
    await ask(
      '{ products(first: 200) { edges { node { stockLevels { product { stockLevels { id } } } } } } }',
    );
    await ask(`{ ${'__typename '.repeat(5001)}}`);
    await ask('{ noSuchField }');
    expect(limits.cache.size()).toBe(1);
    // Accepted but over 1/32 of the bound (1 KiB here): not kept.
    expect((await ask(`{ __typename ${'#'.repeat(2000)}\n}`)).data).toEqual({ __typename: 'Query' });
    expect(limits.cache.size()).toBe(1);
    // Many small ones: the oldest go, the total stays within 32 KiB.
    for (let i = 0; i < 200; i++) await ask(`{ __typename ${'#'.repeat(500)}${i}\n}`);
    expect(limits.cache.size()).toBeLessThanOrEqual(64);
    expect(limits.cache.size()).toBeGreaterThan(30);
  });
});

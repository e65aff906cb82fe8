/**
 * Browsers held to the same origin (issue 9, "Browsers"): a foreign page gets no CORS answer and no
 * WebSocket; form-encoded, multipart and text/plain POSTs and header-less GETs run nothing (403,
 * every table unchanged); every response path carries the security headers; GraphiQL is a small
 * page whose files are cached for a year. The server runs in its own process; a victim from
 * 127.0.0.2 must keep its answers within the bound throughout.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../src/config.ts';
import { checksum, PASSWORD } from './helpers/api.ts';
import { startTarget, type Target, underAttack } from './helpers/attack.ts';

const BOUND_MS = 3000;
const ALLOWED = 'https://office.example.com';
const EVIL = 'https://evil.example';

let target: Target;
let webDir: string;
beforeAll(async () => {
  webDir = mkdtempSync(path.join(tmpdir(), 'bl-attack-browser-'));
  mkdirSync(path.join(webDir, 'assets'));
  writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>Branchline</title>');
  writeFileSync(path.join(webDir, 'assets', 'index-abc.js'), 'console.info(1)');
  target = await startTarget({ corsOrigins: [ALLOWED], webDist: webDir });
});
afterAll(async () => {
  await target?.stop();
  if (webDir) rmSync(webDir, { recursive: true, force: true });
});

const corsHeaders = (res: Response) =>
  [...res.headers.keys()].filter((k) => k.startsWith('access-control-')).sort();

function preflight(origin: string) {
  return fetch(target.graphqlUrl, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });
}

function postJson(origin: string, query: string) {
  return fetch(target.graphqlUrl, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
}

/** Resolves with the HTTP status of a refused upgrade, or 101 when the socket opened. */
function upgrade(origin: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target.wsUrl, 'graphql-transport-ws', origin ? { origin } : {});
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

describe('CORS and WebSocket origins', () => {
  it('CORS_ORIGINS is a list of origins, empty by default', () => {
    expect(loadConfig({}).CORS_ORIGINS).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: ` ${ALLOWED}, http://10.0.0.5:4000 ` }).CORS_ORIGINS).toEqual([
      ALLOWED,
      'http://10.0.0.5:4000',
    ]);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://shop.example.com/app' })).toThrow(ConfigError);
    expect(() => loadConfig({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS/);
  });

  it('an evil Origin gets no CORS headers and no socket; the allowed origin gets them', async () => {
    await underAttack(target, BOUND_MS, async () => {
      const evilPreflight = await preflight(EVIL);
      expect(corsHeaders(evilPreflight)).toEqual([]);
      const evilPost = await postJson(EVIL, '{ __typename }');
      expect(corsHeaders(evilPost)).toEqual([]);
      expect(await upgrade(EVIL)).toBe(403);

      const goodPreflight = await preflight(ALLOWED);
      expect(goodPreflight.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(goodPreflight.headers.get('access-control-allow-methods')).toContain('POST');
      expect(goodPreflight.headers.get('access-control-allow-credentials')).toBeNull();
      const goodPost = await postJson(ALLOWED, '{ __typename }');
      expect(goodPost.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(goodPost.headers.get('vary')).toMatch(/origin/i);
      expect(await goodPost.json()).toEqual({ data: { __typename: 'Query' } });
      expect(await upgrade(ALLOWED)).toBe(101);
      expect(await upgrade(new URL(target.url).origin)).toBe(101);
      expect(await upgrade(undefined)).toBe(101);
    });
  });
});

describe('CSRF: only JSON POSTs or requests with the header run an operation', () => {
  const login = `mutation { login(email: "admin@example.com", password: "${PASSWORD}") { __typename } }`;
  const adjust = (branchId: string, productId: string) =>
    `mutation { adjustStock(branchId: "${branchId}", productId: "${productId}", delta: 5, reason: "csrf") { __typename } }`;

  it('form-encoded, multipart and text/plain mutations are refused with 403 and change nothing', async () => {
    const t = target as never;
    const ids = await target.db.pool.query<{ branch: string; product: string }>(
      'SELECT branch_id AS branch, product_id AS product FROM stock_levels LIMIT 1',
    );
    const { branch, product } = ids.rows[0] as { branch: string; product: string };
    const before = await checksum(t);
    await underAttack(target, BOUND_MS, async () => {
      for (const query of [login, adjust(branch, product)]) {
        const auth = { authorization: `Bearer ${target.tokens.admin}` };
        const form = await fetch(target.graphqlUrl, {
          method: 'POST',
          headers: { origin: EVIL, ...auth },
          body: new URLSearchParams({ query }),
        });
        expect(form.status, await form.text()).toBe(403);

        const multipart = new FormData();
        multipart.set('operations', JSON.stringify({ query, variables: {} }));
        multipart.set('map', '{}');
        const parts = await fetch(target.graphqlUrl, {
          method: 'POST',
          headers: { origin: EVIL, ...auth },
          body: multipart,
        });
        expect(parts.status, await parts.text()).toBe(403);

        const text = await fetch(target.graphqlUrl, {
          method: 'POST',
          headers: { origin: EVIL, 'content-type': 'text/plain', ...auth },
          body: JSON.stringify({ query }),
        });
        expect(text.status, await text.text()).toBe(403);
      }
    });
    expect(await checksum(t)).toEqual(before);
  });

  it('a GET operation without the header is refused; with it a query runs, a mutation never', async () => {
    await underAttack(target, BOUND_MS, async () => {
      const url = (query: string) => `${target.graphqlUrl}?query=${encodeURIComponent(query)}`;
      const accept = { accept: 'application/graphql-response+json, application/json' };
      const bare = await fetch(url('{ __typename }'), { headers: { origin: EVIL, ...accept } });
      expect(bare.status).toBe(403);
      expect(JSON.stringify(await bare.json())).toContain('CSRF');

      const sse = await fetch(url('subscription { changes { cursor } }'), {
        headers: { accept: 'text/event-stream' },
      });
      expect(sse.status).toBe(403);

      const withHeader = await fetch(url('{ __typename }'), {
        headers: { 'x-graphql-yoga-csrf': '1', ...accept },
      });
      expect(await withHeader.json()).toEqual({ data: { __typename: 'Query' } });
      const mutation = await fetch(url(login), { headers: { 'x-graphql-yoga-csrf': '1', ...accept } });
      expect(mutation.status).toBe(405);
    });
  });
});

describe('security headers', () => {
  const expectHeaders = (res: Response, csp: RegExp) => {
    expect(res.headers.get('x-content-type-options'), res.url).toBe('nosniff');
    expect(res.headers.get('referrer-policy'), res.url).toBe('no-referrer');
    expect(res.headers.get('x-frame-options'), res.url).toBe('DENY');
    const policy = res.headers.get('content-security-policy') ?? '';
    expect(policy, res.url).toContain("frame-ancestors 'none'");
    expect(policy, res.url).toMatch(csp);
  };

  it('on the app, its assets, /graphql (JSON, HTML, errors) and /health', async () => {
    const host = new URL(target.url).host;
    const app = await fetch(`${target.url}/`);
    expect(await app.text()).toContain('<title>Branchline</title>');
    expectHeaders(app, /script-src 'self'/);
    const policy = app.headers.get('content-security-policy') ?? '';
    expect(policy).toContain(`connect-src 'self' ws://${host} wss://${host}`);
    expect(policy).not.toContain('unsafe');
    expectHeaders(await fetch(`${target.url}/assets/index-abc.js`), /script-src 'self'/);
    expectHeaders(await fetch(`${target.url}/assets/missing.js`), /script-src 'self'/);

    expectHeaders(await postJson(EVIL, '{ __typename }'), /default-src 'none'/);
    expectHeaders(await fetch(`${target.graphqlUrl}?query={__typename}`), /default-src 'none'/);
    expectHeaders(await fetch(`${target.url}/health`), /default-src 'none'/);
    const graphiql = await fetch(target.graphqlUrl, { headers: { accept: 'text/html' } });
    expectHeaders(graphiql, /script-src 'self'/);
    expect(graphiql.headers.get('content-security-policy')).not.toContain("script-src 'self' 'unsafe");
  });
});

describe('GraphiQL', () => {
  it('is a small page whose scripts and styles are long-cached files that load', async () => {
    const page = await fetch(target.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(Buffer.byteLength(html)).toBeLessThan(20_000);
    expect(html).toContain('Branchline GraphiQL');
    const urls = [...html.matchAll(/(?:src|href)="(\/graphiql\/[^"]+)"/g)].map((m) => m[1] as string);
    expect(urls.filter((u) => u.endsWith('.js')).length).toBe(3);
    expect(urls.filter((u) => u.endsWith('.css')).length).toBe(1);
    let total = 0;
    for (const url of urls) {
      const res = await fetch(`${target.url}${url}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(res.status, url).toBe(200);
      expect(res.headers.get('cache-control'), url).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('x-content-type-options'), url).toBe('nosniff');
      total += (await res.arrayBuffer()).byteLength;
    }
    expect(total).toBeGreaterThan(1_000_000);
    const gz = await fetch(`${target.url}${urls.find((u) => u.includes('/graphiql.'))}`, {
      method: 'HEAD',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect((await fetch(`${target.url}/graphiql/nothing.js`)).status).toBe(404);
  });
});

/**
 * The web app served by the API server: files with their content types and cache headers, the app
 * for client routes, 404 for missing assets, no escaping the folder, and /graphql and /health
 * still answered by the API.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/app.ts';
import { createTestDatabase, type TestDatabase, testLog } from './helpers/db.ts';

describe('serving the web app', () => {
  let dir: string;
  let db: TestDatabase;
  let app: App;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'branchline-static-'));
    await mkdir(path.join(dir, 'dist', 'assets'), { recursive: true });
    await writeFile(path.join(dir, 'dist', 'index.html'), '<!doctype html><title>app</title>');
    await writeFile(path.join(dir, 'dist', 'assets', 'index-abc.js'), 'console.info(1)');
    await writeFile(path.join(dir, 'dist', 'sw.js'), 'self.x = 1');
    await writeFile(path.join(dir, 'secret.txt'), 'outside');
    db = await createTestDatabase();
    app = buildApp({ databaseUrl: db.url, log: testLog, webDist: path.join(dir, 'dist') });
    url = (await app.start(0, '127.0.0.1')).url;
  });
  afterAll(async () => {
    await app?.stop();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves index.html, assets and the service worker with their types and cache headers', async () => {
    const index = await fetch(`${url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(await index.text()).toContain('<title>app</title>');

    const asset = await fetch(`${url}/assets/index-abc.js`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');

    const sw = await fetch(`${url}/sw.js`);
    expect(sw.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers client routes with the app and missing files with 404', async () => {
    const route = await fetch(`${url}/products/123`);
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('<title>app</title>');
    expect((await fetch(`${url}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${url}/%2e%2e/secret.txt`)).status).not.toBe(200);
    expect(await (await fetch(`${url}/..%2fsecret.txt`)).text()).not.toContain('outside');
  });

  it('leaves /graphql and /health to the API', async () => {
    const health = await fetch(`${url}/health`);
    expect(health.headers.get('content-type')).toContain('application/json');
    const gql = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(await gql.json()).toEqual({ data: { __typename: 'Query' } });
    const graphiql = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await graphiql.text()).toContain('GraphiQL');
  });
});

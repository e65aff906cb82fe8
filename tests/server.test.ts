import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { testLog } from './helpers/db.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

describe('server', () => {
  it('answers { __typename } over HTTP', async () => {
    expect(await t.gql('{ __typename }')).toEqual({ data: { __typename: 'Query' } });
  });

  it('serves GraphiQL to a browser without loading anything from a CDN', async () => {
    const res = await fetch(t.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Branchline GraphiQL');
    expect(html).toContain('<script');
    expect(html).not.toMatch(/unpkg\.com|jsdelivr|cdn\./);
  });

  it('reports database health at GET /health and through GraphQL', async () => {
    const res = await fetch(`${t.url}/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.ok).toBe(true);
    expect(body.components).toContainEqual(expect.objectContaining({ name: 'database', ok: true }));
    const gql = await t.gql('{ health { ok components { name ok } } }');
    expect(gql.data?.health.components).toContainEqual({ name: 'database', ok: true });
  });

  it('reports an unreachable database as unhealthy with 503', async () => {
    const broken = buildApp({ databaseUrl: 'postgresql://nobody:x@127.0.0.1:1/none', log: testLog });
    const { url } = await broken.start(0, '127.0.0.1');
    try {
      const res = await fetch(`${url}/health`);
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.components[0]).toMatchObject({ name: 'database', ok: false });
    } finally {
      await broken.stop();
    }
  });

  it('rejects start() when the port is taken instead of hanging', async () => {
    const other = buildApp({ databaseUrl: t.db.url, log: testLog });
    const port = Number(new URL(t.url).port);
    await expect(other.start(port, '127.0.0.1')).rejects.toThrow(/EADDRINUSE/);
    await other.stop();
  });

  it('answers malformed requests with a GraphQL error, not a crash', async () => {
    const res = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(res.status).toBe(400);
    expect(await t.gql('{ nope }')).toMatchObject({ errors: [{ message: expect.stringContaining('nope') }] });
    expect(await t.gql('{ __typename }')).toEqual({ data: { __typename: 'Query' } });
  });
});

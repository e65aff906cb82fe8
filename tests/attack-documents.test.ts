/**
 * Issue 9, documents: what one request may cost before it runs. Each attack runs against a real
 * server process on a seeded database while a victim from another address asks `{ __typename }`
 * and a signed-in `{ me }`; the victim's worst latency must stay under a bound and the server must
 * be the same process afterwards. The comment on each test gives what the code before the fix did.
 */
import http from 'node:http';
import { formatDocument } from '@urql/core';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CSRF_HEADER } from '../src/web/headers.ts';
import { StockView_Query } from '../web/src/views/StockView.tsx';
import { post, startTarget, type Target, underAttack } from './helpers/attack.ts';
import { subscribeWs, wsClient } from './helpers/feed.ts';

const BOUND_MS = 2500;
/** Each refusal is answered well within this, even on a loaded machine (measured: a few ms). */
const ANSWER_MS = 2000;

let target: Target;
beforeAll(async () => {
  // The token test below nests 999 inline fragments to reach exactly MAX_TOKENS tokens without
  // tripping graphql-js's overlapping-fields budget; MAX_NESTING (src/limits/nesting.ts) would
  // refuse that first at its default of 64, so this target allows deeper brackets.
  target = await startTarget({ documents: { maxNesting: 1024 } });
}, 60_000);
afterAll(async () => {
  await target?.stop();
});

interface Answer {
  status: number;
  ms: number;
  errors: { message: string; extensions?: Record<string, unknown> }[];
  data?: any;
}

function postQuery(query: string, token?: string): Promise<Answer> {
  const since = performance.now();
  return post(target.graphqlUrl, JSON.stringify({ query }), {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    timeoutMs: 10_000,
  }).then((r) => {
    const body = JSON.parse(r.text);
    return { status: r.status, ms: performance.now() - since, errors: body.errors ?? [], data: body.data };
  }, settle(since));
}

function getQuery(query: string): Promise<Answer> {
  const since = performance.now();
  const url = `${target.graphqlUrl}?query=${encodeURIComponent(query)}`;
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { agent: false, timeout: 10_000, headers: { accept: 'application/json', [CSRF_HEADER]: '1' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString());
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - since, errors: body.errors ?? [] });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('GET: no answer within 10 s')));
    req.on('error', reject);
  }).catch(settle(since)) as Promise<Answer>;
}

/**
 * A POST of a large body that resolves with the answer even though the server closes the
 * connection before the upload is done (the client's write then fails with EPIPE).
 */
function postLarge(body: Buffer): Promise<{ status: number; text: string; ms: number }> {
  const since = performance.now();
  return new Promise((resolve) => {
    let answered = false;
    const req = http.request(
      target.graphqlUrl,
      {
        method: 'POST',
        agent: false,
        timeout: 20_000,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString(),
            ms: performance.now() - since,
          }),
        );
        res.on('error', () => {});
      },
    );
    req.on('timeout', () => req.destroy(new Error('POST: no answer within 20 s')));
    req.on('error', (err) => {
      if (answered) return;
      resolve({
        status: 0,
        text: JSON.stringify({ errors: [{ message: err.message }] }),
        ms: performance.now() - since,
      });
    });
    // Sent as a client streams: a piece at a time, stopping once the answer is in. Writing all
    // 24 MB at once races the server's close after its 413: data arriving after the close makes
    // the kernel reset the connection, and a reset drops the unread answer (status 0).
    const piece = 64 * 1024;
    let offset = 0;
    const more = () => {
      while (!answered && offset < body.length) {
        const chunk = body.subarray(offset, offset + piece);
        offset += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', () => setTimeout(more, 1));
          return;
        }
      }
      if (!answered) req.end();
    };
    more();
  });
}

/** One operation over graphql-ws, signed in (token-less sockets are closed at connection_init). */
async function wsQuery(query: string, token: string): Promise<Answer> {
  const client = wsClient(target.wsUrl, token);
  const since = performance.now();
  const c = subscribeWs(client, query, {}, '__typename');
  const timeout = new Promise<void>((_, reject) =>
    setTimeout(() => reject(new Error('graphql-ws: no answer within 10 s')), 10_000).unref(),
  );
  try {
    await Promise.race([c.ended, timeout]);
    return { status: 0, ms: performance.now() - since, errors: c.errors };
  } catch (err) {
    return settle(since)(err as Error);
  } finally {
    c.stop();
    void client.dispose();
  }
}

/** An attack request that failed (no answer in time...) becomes an answer with that error. */
const settle =
  (since: number) =>
  (err: Error): Answer => ({
    status: 0,
    ms: performance.now() - since,
    errors: [{ message: err.message }],
  });

function expectRefused(answers: Answer[], code: string, message: RegExp) {
  for (const a of answers) {
    expect(a.errors.map((e) => e.extensions?.code)).toEqual([code]);
    expect(a.errors[0].message).toMatch(message);
    expect(a.data ?? undefined).toBeUndefined();
    expect(a.ms).toBeLessThan(ANSWER_MS);
  }
}

/** `fragment F0 on Query { ...F1 ...F1 }` ... : each level doubles what a naive walk does. */
const fanOut = (levels: number) =>
  `query FanOut { ...F0 } ${Array.from(
    { length: levels },
    (_, i) => `fragment F${i} on Query { ${i === levels - 1 ? '__typename' : `...F${i + 1} ...F${i + 1}`} }`,
  ).join(' ')}`;

describe('documents', () => {
  // Before: src/limits.ts walked each spread again; 26 levels held the event loop 19 s, so 30
  // levels would hold it about 5 minutes (measured before the fix: the victim's requests timed
  // out, the attack's own requests got no answer within 10 s).
  it('refuses a fragment fan-out of 30 levels at once over POST, GET and graphql-ws', async () => {
    const doc = fanOut(30);
    expect(doc.length).toBeLessThan(1500);
    const { result } = await underAttack(target, BOUND_MS, () =>
      Promise.all([
        ...Array.from({ length: 3 }, () => postQuery(doc)),
        ...Array.from({ length: 3 }, () => getQuery(doc)),
        ...Array.from({ length: 3 }, () => wsQuery(doc, target.tokens.clerk)),
      ]),
    );
    expectRefused(result, 'QUERY_TOO_COMPLEX', /cost units .*the limit is 50000 \(MAX_COST\)/);
    for (const a of result.slice(0, 6)) expect(a.status).toBe(400);
  });

  // Before: Yoga accepted 25 MB bodies and the parser had no token limit; three of these in
  // parallel crashed the process with a V8 out-of-memory error.
  it('refuses three 24 MB documents in parallel with 413 before reading them', async () => {
    const body = Buffer.from(JSON.stringify({ query: `{ ${'a: __typename '.repeat(1_750_000)}}` }));
    expect(body.length).toBeGreaterThan(24_000_000);
    const { result } = await underAttack(target, BOUND_MS, () =>
      Promise.all(Array.from({ length: 3 }, () => postLarge(body))),
    );
    for (const r of result) {
      expect(r.status).toBe(413);
      const errors = JSON.parse(r.text).errors;
      expect(errors).toHaveLength(1);
      expect(errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
      expect(errors[0].message).toMatch(/over the limit of 1048576 bytes \(MAX_BODY_BYTES\)/);
      expect(r.ms).toBeLessThan(ANSWER_MS);
    }
  });

  // Before: the same (maxPayload was a fixed 1 MiB); now it follows MAX_BODY_BYTES.
  it('closes a graphql-ws socket whose message is over MAX_BODY_BYTES (1009) without reading it', async () => {
    const query = `{ ${'a: __typename '.repeat(1_750_000)}}`;
    const message = Buffer.from(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
    const socket = new WebSocket(target.wsUrl, 'graphql-transport-ws');
    const closed = new Promise<{ code: number; ms: number }>((resolve) => {
      let since = 0;
      socket.on('message', (m) => {
        if (JSON.parse(String(m)).type !== 'connection_ack') return;
        since = performance.now();
        socket.send(message);
      });
      socket.on('close', (code) => resolve({ code, ms: performance.now() - since }));
      socket.on('error', () => {});
    });
    socket.on('open', () =>
      socket.send(
        JSON.stringify({
          type: 'connection_init',
          payload: { authorization: `Bearer ${target.tokens.clerk}` },
        }),
      ),
    );
    const { code, ms } = await closed;
    expect(code).toBe(1009);
    expect(ms).toBeLessThan(ANSWER_MS);
  });

  // Before: the field count ignored list sizes (100 aliases x 10 fields = 1,000 < 1,500), so
  // every request ran; 16 of them held other users 9.5 s.
  it('refuses 16 parallel heavy aliased list queries by cost', async () => {
    const heavy = `{ ${Array.from(
      { length: 100 },
      (_, i) =>
        `o${i}: orders(first: 200) { edges { node { id items { quantity product { sku stockLevels { quantity branch { code } } } } } } }`,
    ).join(' ')} }`;
    const { result } = await underAttack(target, BOUND_MS, () =>
      Promise.all(Array.from({ length: 16 }, () => postQuery(heavy, target.tokens.clerk))),
    );
    expectRefused(result, 'QUERY_TOO_COMPLEX', /cost units \(fields times list sizes\); the limit is 50000/);
  });

  // Before: no alias limit (51 aliases passed the 1,500-field count).
  it('refuses 51 aliases and accepts 50', async () => {
    const aliases = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    expectRefused(
      [await postQuery(aliases(51))],
      'QUERY_TOO_COMPLEX',
      /51 aliases; the limit is 50 \(MAX_ALIASES\)/,
    );
    expect((await postQuery(aliases(50))).errors).toEqual([]);
  });

  // Before: 745 login aliases tried 745 passwords in one request; here the right one signed in.
  it('refuses a second login in one operation without trying either password', async () => {
    const logins = `mutation {
      a: login(email: "clerk.dt@example.com", password: "wrong") { __typename }
      b: login(email: "clerk.dt@example.com", password: "branchline") {
        __typename ... on MutationLoginSuccess { data { token } }
      }
    }`;
    expectRefused([await postQuery(logins)], 'QUERY_TOO_COMPLEX', /2 selections of login in one operation/);
  });

  it('runs the web app’s largest query as the web app sends it', async () => {
    const branch = await target.db.pool.query<{ id: string }>(`SELECT id FROM branches WHERE code = 'DT'`);
    const r = await post(
      target.graphqlUrl,
      JSON.stringify({
        query: print(formatDocument(StockView_Query)),
        variables: { branchId: branch.rows[0].id },
      }),
      { headers: { authorization: `Bearer ${target.tokens.clerk}` } },
    );
    const body = JSON.parse(r.text);
    expect(body.errors).toBeUndefined();
    expect(body.data.stockLevels.edges.length).toBeGreaterThan(10);
  });

  // Before: no token limit; the parser took any document the 25 MB body limit let through.
  it('accepts a document of exactly MAX_TOKENS tokens and refuses one more', async () => {
    // 999 nested `... on Query { }` (5 tokens each) and the outer braces make 4,997 tokens;
    // __typename fields fill up the rest. (Many sibling fragments would trip graphql-js's own
    // budget for comparing overlapping fields instead.)
    const doc = (tokens: number) => {
      const levels = 999;
      const fill = tokens - (2 + 5 * levels);
      return `{ ${'... on Query { '.repeat(levels)}${'__typename '.repeat(fill)}${'} '.repeat(levels)}}`;
    };
    const accepted = await postQuery(doc(5000));
    expect(accepted.errors).toEqual([]);
    expect(accepted.data).toEqual({ __typename: 'Query' });
    expect(accepted.ms).toBeLessThan(ANSWER_MS);
    expectRefused(
      [await postQuery(doc(5001))],
      'QUERY_TOO_COMPLEX',
      /more than 5000 tokens; the limit is 5000 \(MAX_TOKENS\)/,
    );
  });
});

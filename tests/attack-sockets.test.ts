/**
 * Connections that cost the server without doing anything: thousands of token-less WebSockets,
 * a socket that never sends connection_init, request headers or bodies dripping a byte a second.
 * The server runs in its own process with short timeouts passed as options; a victim is served
 * throughout.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTarget, type Target, underAttack } from './helpers/attack.ts';
import { CHANGES, subscribeSse, subscribeWs, waitFor, wsClient } from './helpers/feed.ts';
import { openRaw, type RawSocket } from './helpers/raw-ws.ts';

const BOUND_MS = 3000;
const INIT_TIMEOUT_MS = 1000;
const HEADERS_TIMEOUT_MS = 2000;
const REQUEST_TIMEOUT_MS = 3000;
const BODY_IDLE_MS = 1500;
const PER_ADDRESS = 50;
const PER_USER = 3;

let target: Target;
beforeAll(async () => {
  target = await startTarget({
    shares: {
      wsConnectionsPerAddress: PER_ADDRESS,
      wsConnectionsPerUser: PER_USER,
      wsInitTimeoutMs: INIT_TIMEOUT_MS,
    },
    http: {
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      bodyIdleTimeoutMs: BODY_IDLE_MS,
    },
  });
});
afterAll(async () => {
  await target?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once the socket is acknowledged or closed (or after `ms`). */
function settled(s: RawSocket, ms: number): Promise<unknown> {
  return Promise.race([s.acked, s.closed, sleep(ms)]);
}

describe('WebSockets without a token', () => {
  it('5,000 token-less sockets are each closed with 4403 or refused, none stays open, others are served', async () => {
    const t = target;
    const socks: RawSocket[] = [];
    await underAttack(t, BOUND_MS, async () => {
      for (let batch = 0; batch < 20; batch++) {
        const opened = Array.from({ length: 250 }, () => openRaw(t.wsUrl, { init: {} }));
        socks.push(...opened);
        await Promise.all(opened.map((s) => settled(s, 5000)));
      }
      await sleep(2000);
    });
    const open = socks.filter(
      (s) =>
        s.ws.readyState === s.ws.OPEN || (s.ws.readyState === s.ws.CONNECTING && s.refusedStatus === null),
    );
    const outcomes = await Promise.all(
      socks.map(async (s) => {
        if (s.refusedStatus !== null) return `HTTP ${s.refusedStatus}`;
        if (open.includes(s)) return 'open';
        return String((await s.closed).code);
      }),
    );
    for (const s of socks) s.ws.terminate();
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
    expect(open.length, JSON.stringify(counts)).toBe(0);
    expect((counts['4403'] ?? 0) + (counts['HTTP 429'] ?? 0), JSON.stringify(counts)).toBe(5000);
    expect(counts['4403']).toBeGreaterThanOrEqual(PER_ADDRESS);
  });

  it('a socket that never sends connection_init is closed with 4408 after the timeout', async () => {
    const s = openRaw(target.wsUrl, { init: false, localAddress: '127.0.0.6' });
    expect(await s.opened).toBe(true);
    const since = performance.now();
    const closed = await Promise.race([s.closed, sleep(INIT_TIMEOUT_MS + 4000).then(() => null)]);
    s.ws.terminate();
    expect(closed?.code).toBe(4408);
    expect(performance.now() - since).toBeLessThan(INIT_TIMEOUT_MS + 1500);
  });

  it('a wrong token is closed with 4403; a valid one is served, up to the per-user cap (4430 beyond)', async () => {
    const bad = openRaw(target.wsUrl, {
      init: { authorization: 'Bearer bl_not-a-token' },
      localAddress: '127.0.0.7',
    });
    const stillOpen = { code: 0, reason: 'still open after 3 s' };
    expect((await Promise.race([bad.closed, sleep(3000).then(() => stillOpen)])).code).toBe(4403);
    bad.ws.terminate();
    const init = { authorization: `Bearer ${target.tokens.manager}` };
    const mine = Array.from({ length: PER_USER }, () =>
      openRaw(target.wsUrl, { init, localAddress: '127.0.0.7' }),
    );
    expect(await Promise.all(mine.map((s) => s.acked))).toEqual(Array(PER_USER).fill(true));
    const extra = openRaw(target.wsUrl, { init, localAddress: '127.0.0.7' });
    const closed = await extra.closed;
    expect(closed.code).toBe(4430);
    expect(closed.reason).toMatch(/at most 3 WebSockets per user/);
    // One leaves: the next one gets its place.
    mine[0]?.ws.close();
    await mine[0]?.closed;
    await sleep(200);
    const again = openRaw(target.wsUrl, { init, localAddress: '127.0.0.7' });
    expect(await again.acked).toBe(true);
    for (const s of [...mine, again]) s.ws.terminate();
  });
});

/** A raw HTTP connection from `localAddress`; resolves when the server closes it, with what it sent. */
function rawHttp(localAddress = '127.0.0.1') {
  const socket = net.connect({ port: Number(new URL(target.url).port), host: '127.0.0.1', localAddress });
  let received = '';
  socket.on('data', (d) => {
    received += d;
  });
  socket.on('error', () => {});
  const since = performance.now();
  const closed = new Promise<{ afterMs: number; received: string }>((resolve) => {
    socket.once('close', () => resolve({ afterMs: performance.now() - since, received }));
  });
  return { socket, closed };
}

/** Writes `text` one byte per `everyMs` until the socket closes or `maxMs` passes. */
async function drip(socket: net.Socket, text: string, everyMs: number, maxMs: number): Promise<void> {
  const until = performance.now() + maxMs;
  for (let i = 0; !socket.destroyed && performance.now() < until; i = (i + 1) % text.length) {
    socket.write(text[i] as string);
    await sleep(everyMs);
  }
}

const HEAD = `POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n`;

/** A masked client text frame (RFC 6455) of a short message. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = payload.map((b, i) => b ^ (mask[i % 4] as number));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

describe('clients that ignore the close handshake', () => {
  it('are dropped a short grace after the server closed their socket (4408, 4403)', async () => {
    const upgrade =
      'GET /graphql HTTP/1.1\r\nhost: localhost\r\nupgrade: websocket\r\nconnection: Upgrade\r\n' +
      'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n' +
      'sec-websocket-protocol: graphql-transport-ws\r\n\r\n';
    const silent = rawHttp('127.0.0.8');
    silent.socket.write(upgrade);
    const tokenless = rawHttp('127.0.0.8');
    tokenless.socket.write(upgrade);
    tokenless.socket.write(clientFrame('{"type":"connection_init"}'));
    const bound = INIT_TIMEOUT_MS + 2000 + 2500;
    const [a, b] = await Promise.all(
      [silent, tokenless].map((c) => Promise.race([c.closed, sleep(bound).then(() => null)])),
    );
    silent.socket.destroy();
    tokenless.socket.destroy();
    expect(a?.received, 'the silent socket was dropped').toMatch(/^HTTP\/1\.1 101/);
    expect(b?.received, 'the token-less socket was dropped').toMatch(/^HTTP\/1\.1 101/);
    expect(b?.afterMs).toBeLessThan(2000 + 2500);
  });
});

describe('slow requests', () => {
  it('bodies dripping one byte a second are cut within the request timeout, others are served', async () => {
    const conns = Array.from({ length: 20 }, () => rawHttp());
    const { result } = await underAttack(target, BOUND_MS, async () => {
      for (const c of conns) c.socket.write(`${HEAD}content-length: 1000\r\n\r\n`);
      await Promise.all(
        conns.map((c) => drip(c.socket, '{"query":"{ __typename }"}', 1000, REQUEST_TIMEOUT_MS + 5000)),
      );
      return Promise.all(conns.map((c) => Promise.race([c.closed, sleep(1000).then(() => null)])));
    });
    for (const c of conns) c.socket.destroy();
    for (const r of result) {
      expect(r, 'the server closed the connection').not.toBeNull();
      expect(r?.afterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 2500);
    }
  });

  it('headers dripping one byte a second are cut within the headers timeout', async () => {
    const c = rawHttp();
    void drip(c.socket, HEAD, 1000, HEADERS_TIMEOUT_MS + 5000);
    const r = await Promise.race([c.closed, sleep(HEADERS_TIMEOUT_MS + 5000).then(() => null)]);
    c.socket.destroy();
    expect(r, 'the server closed the connection').not.toBeNull();
    expect(r?.afterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
  });

  it('a body that stops arriving is answered 408 once idle, before the request timeout', async () => {
    const c = rawHttp();
    c.socket.write(`${HEAD}content-length: 100\r\n\r\n{"query":`);
    const r = await Promise.race([c.closed, sleep(REQUEST_TIMEOUT_MS + 5000).then(() => null)]);
    c.socket.destroy();
    expect(r, 'the server closed the connection').not.toBeNull();
    expect(r?.received).toMatch(/^HTTP\/1\.1 408/);
    expect(r?.received).toMatch(/Request body timeout/);
    expect(r?.afterMs).toBeLessThan(REQUEST_TIMEOUT_MS);
  });

  it('long-lived SSE and WebSocket subscriptions outlive every timeout; idle keep-alive connections still close', async () => {
    const token = target.tokens.admin;
    const sse = subscribeSse(target.graphqlUrl, token, CHANGES, { tables: ['customers'] }, 'changes');
    const client = wsClient(target.wsUrl, token);
    const ws = subscribeWs(client, CHANGES, { tables: ['customers'] }, 'changes');
    // A finished request on a kept-alive connection: Node's keep-alive timeout (5 s) still ends it.
    const idle = rawHttp();
    const body = '{"query":"{ __typename }"}';
    idle.socket.write(`${HEAD}content-length: ${body.length}\r\n\r\n${body}`);
    await sleep(REQUEST_TIMEOUT_MS + BODY_IDLE_MS + 1000);
    const closed = await Promise.race([idle.closed, sleep(1000).then(() => null)]);
    idle.socket.destroy();
    expect(closed?.received, 'the idle keep-alive connection was closed').toMatch(/^HTTP\/1\.1 200/);
    await target.db.pool.query("INSERT INTO customers (name) VALUES ('Still there')");
    await waitFor(
      () => sse.events.length >= 1 && ws.events.length >= 1,
      10_000,
      'both subscriptions to deliver',
    );
    expect(sse.errors).toEqual([]);
    expect(ws.errors).toEqual([]);
    sse.stop();
    ws.stop();
    await client.dispose();
  });
});

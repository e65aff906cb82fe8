/**
 * Sends hostile-corpus cases over HTTP, SSE and graphql-ws and judges every answer. Clean means:
 * an HTTP status below 500; GraphQL errors whose `extensions.code` is not INTERNAL_SERVER_ERROR and
 * whose message is not the masked "Unexpected error."; a refused mutation is an error member (or
 * the request fails as a whole); a subscription with a malformed argument ends with an error
 * instead of staying open; a graphql-ws socket is closed only with a close code and reason (never
 * 4500, 1006, 1011), and one left open still answers a probe. Every exchange is bounded (5 s; 1.5 s
 * to decide that a subscription stayed open).
 */
import http from 'node:http';
import WebSocket from 'ws';
import { type Expect, type Fixtures, type OperationCase, PAD, RawJson, Ref } from './hostile-corpus.ts';
import type { HttpRawCase } from './hostile-http.ts';
import type { WsRawCase } from './hostile-ws.ts';

export type AnyCase = OperationCase | HttpRawCase | WsRawCase;

export interface Env {
  url: string;
  wsUrl: string;
  fx: Fixtures;
  tokens: { admin: string; clerk: string };
}

export interface Outcome {
  c: AnyCase;
  outcome: string;
  problem: string | null;
  ms?: number;
}

const BOUND_MS = 5000;
const OPEN_MS = 1500;

export function toJson(value: unknown, fx: Fixtures): string {
  if (value instanceof RawJson) return value.text;
  if (value instanceof Ref) return JSON.stringify(value.map(fx[value.key]));
  if (Array.isArray(value)) return `[${value.map((v) => toJson(v, fx)).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJson(v, fx)}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** The JSON body (or graphql-ws payload) of an operation case, padded to its size if asked. */
export function bodyOf(c: OperationCase, fx: Fixtures): string {
  const parts = [`"query":${JSON.stringify(c.query)}`];
  if (c.variables !== undefined) parts.push(`"variables":${toJson(c.variables, fx)}`);
  if (c.operationName !== undefined) parts.push(`"operationName":${toJson(c.operationName, fx)}`);
  const body = `{${parts.join(',')}}`;
  if (!c.pad) return body;
  const marker = JSON.stringify(PAD).slice(1, -1);
  const rest = Buffer.byteLength(body) - Buffer.byteLength(marker);
  const unit = Buffer.byteLength(c.pad.unit);
  const n = Math.floor((c.pad.bytes - rest) / unit);
  const fill = c.pad.unit.repeat(n) + 'x'.repeat(c.pad.bytes - rest - n * unit);
  return body.replace(marker, () => fill);
}

const authOf = (env: Env, c: AnyCase): Record<string, string> =>
  c.who === 'anon' ? {} : { authorization: `Bearer ${env.tokens[c.who]}` };

/** Whether a GraphQL result is clean; `refused` also wants every root field to be an error member. */
export function judgeResult(
  res: any,
  expect: Expect,
  rootFields: string[],
  check?: (data: any) => string | null,
): { outcome: string; problem: string | null } {
  if (!res || typeof res !== 'object')
    return { outcome: 'not JSON object', problem: 'not a GraphQL response' };
  const errors: any[] = Array.isArray(res.errors) ? res.errors : [];
  for (const e of errors) {
    if (e?.extensions?.code === 'INTERNAL_SERVER_ERROR' || /Unexpected error/.test(String(e?.message)))
      return { outcome: 'INTERNAL', problem: `internal error: ${String(e?.message).slice(0, 200)}` };
    // The database is up all along: "try again" would have a client retry what can never work.
    if (e?.extensions?.code === 'UNAVAILABLE')
      return {
        outcome: 'UNAVAILABLE',
        problem: `an unexpected failure reported as UNAVAILABLE: ${e.message}`,
      };
  }
  if (errors.length)
    return { outcome: String(errors[0]?.extensions?.code ?? 'GRAPHQL_ERROR'), problem: null };
  if (res.data === undefined || res.data === null)
    return { outcome: 'empty', problem: 'neither data nor errors' };
  let outcome = 'data';
  for (const f of rootFields) {
    const v = res.data[f];
    const typename = v?.__typename;
    outcome = String(typename ?? 'data');
    if (expect !== 'refused') continue;
    if (!typename) return { outcome, problem: `no result for ${f}` };
    if (/Success$/.test(typename)) return { outcome, problem: `accepted: ${f} returned ${typename}` };
    if (v.message === 'Unexpected error.') return { outcome, problem: `masked error member ${typename}` };
  }
  return { outcome, problem: check?.(res.data) ?? null };
}

interface Exchange {
  status: number;
  contentType: string;
  text: string;
  /** SSE events (name and data) when the answer was an event stream. */
  events: { event: string; data: string }[];
  /** The stream was still open when the bound passed. */
  open: boolean;
}

/** One HTTP request; an event stream is read until `complete`, its end, or `openMs`. */
function exchange(
  url: string,
  opts: { method: string; headers: Record<string, string>; body?: string | Buffer; openMs?: number },
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    for (const [k, v] of Object.entries(headers)) if (v === '') delete headers[k];
    const req = http.request(url, { method: opts.method, headers, agent: false });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${BOUND_MS} ms`)), BOUND_MS);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const contentType = String(res.headers['content-type'] ?? '');
      const out: Exchange = { status: res.statusCode ?? 0, contentType, text: '', events: [], open: false };
      const chunks: Buffer[] = [];
      const finish = () => {
        clearTimeout(timer);
        clearTimeout(openTimer);
        out.text = Buffer.concat(chunks).toString();
        resolve(out);
      };
      let openTimer: NodeJS.Timeout | undefined;
      if (contentType.includes('text/event-stream')) {
        openTimer = setTimeout(
          () => {
            out.open = true;
            res.destroy();
            finish();
          },
          opts.openMs ?? BOUND_MS - 500,
        );
      }
      let buffer = '';
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (!openTimer) return;
        buffer += chunk.toString();
        for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message';
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          if (block.startsWith(':')) continue;
          out.events.push({ event, data });
          if (event === 'complete') {
            res.destroy();
            finish();
            return;
          }
        }
      });
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    });
    req.end(opts.body);
  });
}

function judgeExchange(
  x: Exchange,
  c: { expect: Expect; rootFields: string[] },
  check?: OperationCase['check'],
) {
  if (x.status >= 500)
    return { outcome: `HTTP ${x.status}`, problem: `HTTP ${x.status}: ${x.text.slice(0, 200)}` };
  // Script payloads come back in error messages: only as JSON (or an event stream), never as a page.
  if (x.contentType.includes('html'))
    return {
      outcome: `HTTP ${x.status} html`,
      problem: `an HTML answer (${x.contentType}) to a hostile request`,
    };
  if (x.contentType.includes('text/event-stream')) {
    let outcome = 'sse';
    let sawError = false;
    for (const e of x.events) {
      if (e.event !== 'next' && e.event !== 'message') continue;
      let res: any;
      try {
        res = JSON.parse(e.data);
      } catch {
        return { outcome: 'sse not JSON', problem: `SSE event is not JSON: ${e.data.slice(0, 100)}` };
      }
      const j = judgeResult(res, c.expect, c.rootFields, check);
      if (j.problem) return j;
      outcome = j.outcome;
      sawError ||= Boolean(res.errors?.length);
    }
    if (x.open && !sawError && c.expect !== 'open-ok')
      return { outcome: 'open', problem: `subscription accepted: still open after ${OPEN_MS} ms, no error` };
    return { outcome: x.open ? `${outcome} (open)` : outcome, problem: null };
  }
  if (x.contentType.includes('json')) {
    let res: any;
    try {
      res = JSON.parse(x.text);
    } catch {
      return x.status >= 400
        ? { outcome: `HTTP ${x.status}`, problem: null }
        : { outcome: 'bad JSON', problem: `HTTP ${x.status} with unparsable JSON` };
    }
    const j = judgeResult(res, c.expect, c.rootFields, check);
    return { ...j, outcome: `HTTP ${x.status} ${j.outcome}` };
  }
  if (x.status >= 400 || (x.status === 204 && c.expect !== 'open-ok'))
    return { outcome: `HTTP ${x.status}`, problem: null };
  return {
    outcome: `HTTP ${x.status}`,
    problem: `HTTP ${x.status} ${x.contentType} is not a GraphQL answer`,
  };
}

const isSubscription = (query: string) => /^\s*subscription\b/.test(query);

async function sendOperationHttp(c: OperationCase, env: Env): Promise<Outcome> {
  const sse = c.transport === 'sse';
  const x = await exchange(`${env.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: sse ? 'text/event-stream' : 'application/graphql-response+json, application/json',
      'x-graphql-yoga-csrf': '1',
      ...authOf(env, c),
    },
    body: bodyOf(c, env.fx),
    openMs: isSubscription(c.query) ? OPEN_MS : BOUND_MS - 500,
  });
  return { c, ...judgeExchange(x, c, c.check) };
}

async function sendRawHttp(c: HttpRawCase, env: Env): Promise<Outcome> {
  const x = await exchange(`${env.url}${c.path(env.fx)}`, {
    method: c.method,
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      'x-graphql-yoga-csrf': '1',
      ...authOf(env, c),
      ...c.headers,
    },
    body: c.body?.(env.fx),
    openMs: OPEN_MS,
  });
  return { c, ...judgeExchange(x, c) };
}

const CLEAN_CLOSE = (code: number, reason: string) =>
  (code >= 4000 && code < 4500 && reason.length > 0) || code === 1000 || code === 1001 || code === 1009;

/** A graphql-ws connection that records messages and its close. */
class Socket {
  readonly messages: any[] = [];
  closed: { code: number; reason: string } | null = null;
  /** The client's own error, e.g. a handshake the server answered without a WebSocket. */
  error = '';
  readonly ws: WebSocket;
  private waiters = new Set<() => void>();

  constructor(url: string, protocol: string | null) {
    this.ws = protocol === null ? new WebSocket(url) : new WebSocket(url, protocol);
    this.ws.on('message', (data) => {
      let m: any;
      try {
        m = JSON.parse(String(data));
      } catch {
        m = { type: 'unparsable', data: String(data).slice(0, 100) };
      }
      this.messages.push(m);
      this.wake();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    this.ws.on('error', (err) => {
      this.error = err.message;
    });
  }

  private wake() {
    for (const w of this.waiters) w();
  }

  /** Waits until `done()` or the socket closes; false when `ms` passed first. */
  async until(done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done() && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(finish, left);
        function finish() {
          clearTimeout(t);
          r();
        }
        this.waiters.add(finish);
      });
      this.waiters.clear();
    }
    return true;
  }

  async opened(): Promise<boolean> {
    if (this.ws.readyState === WebSocket.OPEN) return true;
    return new Promise((r) => {
      this.ws.once('open', () => r(true));
      this.ws.once('close', () => r(false));
      this.ws.once('error', () => r(false));
    });
  }

  send(data: string | Buffer) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  end() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.terminate();
  }

  has = (type: string, id?: string) =>
    this.messages.some((m) => m?.type === type && (id === undefined || m.id === id));
}

/** The clean-ness of every `next` and `error` message received so far. */
function judgeMessages(
  s: Socket,
  c: { expect: Expect; rootFields: string[] },
  check?: OperationCase['check'],
) {
  let outcome = '';
  for (const m of s.messages) {
    if (m?.type === 'error') {
      const j = judgeResult({ errors: m.payload }, 'clean', []);
      if (j.problem) return j;
      outcome ||= `error ${j.outcome}`;
    } else if (m?.type === 'next' && m.id !== 'probe') {
      const j = judgeResult(m.payload, c.expect, c.rootFields, check);
      if (j.problem) return j;
      outcome ||= j.outcome;
    }
  }
  return { outcome, problem: null };
}

async function connect(
  env: Env,
  c: AnyCase,
  protocol: string | null,
  init: 'token' | 'skip' | { raw: string },
) {
  const s = new Socket(env.wsUrl, protocol);
  if (!(await s.opened())) return s;
  if (init === 'skip') return s;
  if (init === 'token') {
    const payload = c.who === 'anon' ? {} : { authorization: `Bearer ${env.tokens[c.who]}` };
    s.send(JSON.stringify({ type: 'connection_init', payload }));
  } else s.send(init.raw);
  await s.until(() => s.has('connection_ack'), BOUND_MS);
  return s;
}

async function sendOperationWs(c: OperationCase, env: Env): Promise<Outcome> {
  const s = await connect(env, c, 'graphql-transport-ws', 'token');
  try {
    if (s.closed) return closedOutcome(c, s);
    s.send(`{"id":"1","type":"subscribe","payload":${bodyOf(c, env.fx)}}`);
    const ended = await s.until(
      () => s.has('complete', '1') || s.has('error', '1'),
      isSubscription(c.query) ? OPEN_MS : BOUND_MS,
    );
    const j = judgeMessages(s, c, c.check);
    if (j.problem) return { c, ...j };
    if (s.closed) return closedOutcome(c, s);
    if (!ended && !s.has('error', '1') && c.expect !== 'open-ok') {
      const sawErrors = s.messages.some((m) => m?.type === 'next' && m.payload?.errors?.length);
      if (!sawErrors)
        return { c, outcome: 'open', problem: `no answer within ${OPEN_MS} ms (subscription accepted?)` };
    }
    return { c, outcome: j.outcome || (ended ? 'complete' : 'open'), problem: null };
  } finally {
    s.end();
  }
}

function closedOutcome(c: AnyCase, s: Socket, expected?: number[]): Outcome {
  const { code, reason } = s.closed ?? { code: 0, reason: '' };
  const outcome = `close ${code}${s.error ? ` (${s.error})` : ''}`;
  // The server declined the subprotocol in the handshake itself: the client gives up before any close.
  if (s.error === 'Server sent no subprotocol' && expected?.includes(4406))
    return { c, outcome, problem: null };
  if (expected && !expected.includes(code))
    return { c, outcome, problem: `closed with ${code} "${reason}", expected ${expected.join(' or ')}` };
  if (!CLEAN_CLOSE(code, reason)) return { c, outcome, problem: `closed with ${code} "${reason}"` };
  return { c, outcome, problem: null };
}

async function sendRawWs(c: WsRawCase, env: Env): Promise<Outcome> {
  const protocol = c.subprotocol === undefined ? 'graphql-transport-ws' : c.subprotocol;
  const s = await connect(env, c, protocol, c.init);
  try {
    for (const m of c.messages(env.fx)) s.send(m);
    const mustClose = c.closeCodes && !c.mayStayOpen;
    await s.until(() => false, mustClose ? BOUND_MS : 300);
    const j = judgeMessages(s, { expect: 'clean', rootFields: [] });
    if (j.problem) return { c, ...j };
    if (s.closed) return closedOutcome(c, s, c.closeCodes);
    if (mustClose)
      return { c, outcome: 'open', problem: `still open, expected close ${c.closeCodes?.join(' or ')}` };
    s.send(JSON.stringify({ id: 'probe', type: 'subscribe', payload: { query: '{ __typename }' } }));
    await s.until(() => s.has('complete', 'probe') || s.has('error', 'probe'), BOUND_MS);
    if (s.closed) return closedOutcome(c, s, c.closeCodes);
    const probe = s.messages.find((m) => m?.type === 'next' && m.id === 'probe');
    if (probe?.payload?.data?.__typename !== 'Query')
      return { c, outcome: 'probe unanswered', problem: 'the socket stayed open but did not answer a probe' };
    return { c, outcome: j.outcome || 'open, answers', problem: null };
  } finally {
    s.end();
  }
}

export async function send(c: AnyCase, env: Env): Promise<Outcome> {
  try {
    if (c.type === 'http-raw') return await sendRawHttp(c, env);
    if (c.type === 'ws-raw') return await sendRawWs(c, env);
    return c.transport === 'ws' ? await sendOperationWs(c, env) : await sendOperationHttp(c, env);
  } catch (err) {
    const message = (err as Error).message;
    if (c.type === 'http-raw' && c.resetOk && /ECONNRESET|EPIPE/.test(message))
      return { c, outcome: 'reset', problem: null };
    return { c, outcome: 'failed', problem: message };
  }
}

/** Sends `cases` with at most `concurrency` in flight. */
export async function sendAll(cases: AnyCase[], env: Env, concurrency: number): Promise<Outcome[]> {
  const out: Outcome[] = new Array(cases.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < cases.length) {
        const i = next++;
        const since = performance.now();
        out[i] = await send(cases[i], env);
        out[i].ms = Math.round(performance.now() - since);
      }
    }),
  );
  return out;
}

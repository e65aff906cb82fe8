/**
 * Subscriptions transport: a graphql-ws client over the browser's WebSocket, with GraphQL over
 * SSE (Yoga's text/event-stream on the same /graphql) as the fallback when WebSockets cannot
 * connect. It also owns the connection part of the status bar: offline when the browser says so
 * (the socket is dropped and rebuilt when the network returns), reconnecting while the socket
 * retries, connected once acknowledged.
 *
 * `reconnects` counts (re)connections: the change feed restarts from its last applied cursor on
 * each, instead of graphql-ws replaying the subscription with the cursor it started with.
 */
import { createClient, type Client as WsClient } from 'graphql-ws';
import { createStore } from './lib/store.ts';
import { patchStatus, status } from './status.ts';

export interface Request {
  query?: string;
  operationName?: string;
  variables?: Record<string, unknown>;
  extensions?: Record<string, unknown>;
}

export interface Observer {
  // biome-ignore lint/suspicious/noExplicitAny: execution results are untyped JSON here
  next(value: any): void;
  error(err: unknown): void;
  complete(): void;
}

export const reconnects = createStore(0);

/**
 * Sent with every GraphQL request over HTTP: the server runs an operation from a GET (urql sends
 * queries as GETs) only with this header, which a foreign page cannot add without a CORS preflight.
 */
export const CSRF_HEADERS = { 'x-graphql-yoga-csrf': '1' } as const;

let token: () => string | null = () => null;
let onTokenRefused: () => void = () => {};
let ws: WsClient | null = null;
let mode: 'websocket' | 'sse' = 'websocket';
let failedConnects = 0;
let everConnected = false;
let started = false;
let watchdog: ReturnType<typeof setInterval> | undefined;

const online = () => typeof navigator === 'undefined' || navigator.onLine !== false;
const wsUrl = () => `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** The server closes a socket whose connection_init token it does not accept with 4403. */
const tokenRefused = (e: unknown) => (e as { code?: unknown } | null)?.code === 4403;

function makeWs(): WsClient {
  return createClient({
    url: wsUrl(),
    lazy: false,
    retryAttempts: Number.POSITIVE_INFINITY,
    // A refused token stays refused: sign in again instead of retrying for ever.
    shouldRetry: (e) => !tokenRefused(e),
    retryWait: (retries) => sleep(Math.min(250 * 2 ** retries, 8000) * (0.75 + Math.random() / 2)),
    keepAlive: 10_000,
    connectionParams: () => ({ authorization: `Bearer ${token() ?? ''}` }),
    on: {
      connecting: () => patchStatus({ connection: online() ? 'reconnecting' : 'offline' }),
      connected: () => {
        everConnected = true;
        failedConnects = 0;
        patchStatus({ connection: 'connected', transport: 'websocket' });
        reconnects.set((n) => n + 1);
      },
      closed: (event) => {
        if (tokenRefused(event)) {
          onTokenRefused();
          return;
        }
        patchStatus({ connection: online() ? 'reconnecting' : 'offline' });
        failedConnects += 1;
        if (!everConnected && failedConnects >= 3) void trySse();
      },
    },
  });
}

/** WebSockets never connected: use SSE when plain HTTP reaches the server. */
async function trySse() {
  if (mode === 'sse') return;
  const ok = await fetch('/health', { cache: 'no-store' }).then(
    (r) => r.status < 500,
    () => false,
  );
  if (!ok || (mode as string) === 'sse') return;
  mode = 'sse';
  ws?.dispose();
  ws = null;
  patchStatus({ connection: 'connected', transport: 'sse' });
  reconnects.set((n) => n + 1);
}

function goOffline() {
  patchStatus({ connection: 'offline' });
  ws?.dispose();
  ws = null;
}

function goOnline() {
  if (mode === 'websocket') {
    patchStatus({ connection: 'reconnecting' });
    ws?.dispose();
    ws = makeWs();
  } else {
    patchStatus({ connection: 'connected', transport: 'sse' });
    reconnects.set((n) => n + 1);
  }
}

/**
 * Starts the transport for a signed-in user (`getToken` is read on every (re)connect).
 * `refused` runs when the server refuses the token (expired or revoked): back to sign-in.
 */
export function startTransport(getToken: () => string | null, refused: () => void = () => {}) {
  token = getToken;
  onTokenRefused = refused;
  if (started) return;
  started = true;
  if (typeof WebSocket === 'undefined') mode = 'sse';
  window.addEventListener('offline', goOffline);
  window.addEventListener('online', goOnline);
  if (online()) goOnline();
  else goOffline();
  // Some environments change navigator.onLine without firing the event: notice it anyway.
  watchdog = setInterval(() => {
    const offline = status.get().connection === 'offline';
    if (offline && online()) goOnline();
    else if (!offline && !online()) goOffline();
  }, 2000);
}

export function stopTransport() {
  started = false;
  clearInterval(watchdog);
  window.removeEventListener('offline', goOffline);
  window.removeEventListener('online', goOnline);
  ws?.dispose();
  ws = null;
}

/** A subscription over the current transport (what urql's subscriptionExchange forwards to). */
export function forwardSubscription(request: Request) {
  return {
    subscribe(observer: Observer) {
      if (status.get().connection === 'offline') {
        observer.error(new Error('offline'));
        return { unsubscribe() {} };
      }
      if (mode === 'sse' || !ws) return sseSubscribe(request, observer);
      const dispose = ws.subscribe(
        { query: request.query ?? '', operationName: request.operationName, variables: request.variables },
        observer,
      );
      return { unsubscribe: dispose };
    },
  };
}

/** GraphQL over SSE ("distinct connections" mode): one streaming POST per subscription. */
function sseSubscribe(request: Request, observer: Observer) {
  const abort = new AbortController();
  (async () => {
    const res = await fetch('/graphql', {
      method: 'POST',
      signal: abort.signal,
      headers: {
        accept: 'text/event-stream',
        'content-type': 'application/json',
        authorization: `Bearer ${token() ?? ''}`,
        ...CSRF_HEADERS,
      },
      body: JSON.stringify(request),
    });
    if (!res.ok || !res.body) throw new Error(`SSE request failed with HTTP ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        const event = /^event: ?(.*)$/m.exec(block)?.[1]?.trim() ?? 'message';
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (event === 'complete') {
          observer.complete();
          return;
        }
        if (data) observer.next(JSON.parse(data));
      }
    }
    observer.complete();
  })().catch((err) => {
    if (!abort.signal.aborted) observer.error(err);
  });
  return { unsubscribe: () => abort.abort() };
}

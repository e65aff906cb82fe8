/**
 * Subscriber sessions for the chaos runs, over graphql-ws or SSE, that can stop reading for a
 * while: the client's socket (graphql-ws) or response body (SSE) is not read, so the server's
 * buffers fill up as they would for a slow or frozen client.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { Change } from './feed.ts';

export interface ChaosSession {
  events: Change[];
  /** Error codes (`extensions.code`, or CLOSED / FAILED for a transport failure). */
  errors: string[];
  /** Resolves when the subscription ends (complete, error, or the transport failed). */
  ended: Promise<void>;
  isEnded(): boolean;
  /** Stops reading (the server's buffers fill up) until `resume()`. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** `extensions.code`, or CLOSED <close code> for a socket that closed (graphql-ws). */
function codeOf(err: unknown): string {
  const e = err as { extensions?: { code?: unknown }; code?: unknown } | null;
  if (typeof e?.extensions?.code === 'string') return e.extensions.code;
  return typeof e?.code === 'number' ? `CLOSED ${e.code}` : 'CLOSED';
}

function session(): { s: ChaosSession; end: () => void } {
  let end!: () => void;
  let ended = false;
  const s: ChaosSession = {
    events: [],
    errors: [],
    ended: new Promise<void>((r) => {
      end = () => {
        ended = true;
        r();
      };
    }),
    isEnded: () => ended,
    pause: () => {},
    resume: () => {},
    stop: async () => {},
  };
  return { s, end };
}

export function openWs(
  graphqlUrl: string,
  token: string,
  query: string,
  variables: Record<string, unknown>,
): ChaosSession {
  const { s, end } = session();
  let socket: WebSocket | null = null;
  let paused = false;
  class Captured extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      socket = this;
    }
  }
  const raw = () => (socket as unknown as { _socket?: import('node:net').Socket } | null)?._socket;
  const client = createClient({
    url: graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: Captured,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
    // Paused before the connection was up: pause once acknowledged (the subscribe message still
    // goes out; pausing earlier would hold back the acknowledgement and nothing would start).
    on: {
      connected: () => {
        if (paused) raw()?.pause();
      },
    },
  });
  const unsubscribe = client.subscribe(
    { query, variables },
    {
      next: (msg) => {
        if (msg.errors) s.errors.push(...msg.errors.map(codeOf));
        const v = (msg.data as { changes?: Change } | null | undefined)?.changes;
        if (v) s.events.push(v);
      },
      error: (err) => {
        s.errors.push(...(Array.isArray(err) ? err.map(codeOf) : [codeOf(err)]));
        end();
      },
      complete: end,
    },
  );
  s.pause = () => {
    paused = true;
    raw()?.pause();
  };
  s.resume = () => {
    paused = false;
    raw()?.resume();
  };
  s.stop = async () => {
    s.resume();
    unsubscribe();
    await Promise.resolve(client.dispose()).catch(() => {});
    end();
  };
  return s;
}

export function openSse(
  graphqlUrl: string,
  token: string,
  query: string,
  variables: Record<string, unknown>,
): ChaosSession {
  const { s, end } = session();
  const abort = new AbortController();
  let gate: Promise<void> | null = null;
  let open: () => void = () => {};
  s.pause = () => {
    gate ??= new Promise<void>((r) => {
      open = r;
    });
  };
  s.resume = () => {
    gate = null;
    open();
  };
  s.stop = async () => {
    s.resume();
    abort.abort();
    await s.ended;
  };
  void (async () => {
    try {
      const res = await fetch(graphqlUrl, {
        method: 'POST',
        signal: abort.signal,
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ query, variables }),
      });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        if (gate) await gate;
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (/^event: complete$/m.test(block)) continue;
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          if (!data) continue;
          const msg = JSON.parse(data) as { data?: { changes?: Change } | null; errors?: unknown[] };
          if (msg.errors) s.errors.push(...msg.errors.map(codeOf));
          const v = msg.data?.changes;
          if (v) s.events.push(v);
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') s.errors.push('FAILED');
    } finally {
      end();
    }
  })();
  return s;
}

/**
 * Helpers for change-feed tests: a session token for a sample user (inserted directly), a
 * graphql-ws client and an SSE client that collect events, and `waitFor`.
 */
import { type Client, createClient } from 'graphql-ws';
import type pg from 'pg';
import WebSocket from 'ws';
import { generateToken, hashToken } from '../../src/auth/tokens.ts';

export const CHANGES = `subscription Feed($after: String, $tables: [String!], $branchId: ID) {
  changes(after: $after, tables: $tables, branchId: $branchId) {
    cursor table op rowId version changedFields actor branchId at data
  }
}`;

export interface Change {
  cursor: string;
  table: string;
  op: string;
  rowId: string;
  version: number | null;
  branchId: string | null;
  data: Record<string, any> | null;
}

/** A bearer token for a sample user (what `login` would return). */
export async function tokenFor(pool: pg.Pool, email: string): Promise<string> {
  const token = generateToken();
  const { rowCount } = await pool.query(
    `INSERT INTO api_tokens (user_id, kind, name, token_hash)
     SELECT id, 'SESSION', 'feed test', $2 FROM users WHERE email = $1`,
    [email, hashToken(token)],
  );
  if (rowCount !== 1) throw new Error(`no user ${email}`);
  return token;
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function wsClient(wsUrl: string, token?: string): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

export interface Collector<T = any> {
  events: T[];
  errors: any[];
  completed: boolean;
  /** Resolves when the subscription ends (complete or error). */
  ended: Promise<void>;
  stop(): void;
}

/** Subscribes over graphql-ws; events are the `data[field]` values. */
export function subscribeWs<T = any>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  field: string,
): Collector<T> {
  let resolve!: () => void;
  const ended = new Promise<void>((r) => {
    resolve = r;
  });
  const c: Collector<T> = { events: [], errors: [], completed: false, ended, stop: () => {} };
  c.stop = client.subscribe(
    { query, variables },
    {
      next: (msg) => {
        if (msg.errors) c.errors.push(...msg.errors);
        const value = (msg.data as Record<string, T> | null | undefined)?.[field];
        if (value !== undefined && value !== null) c.events.push(value);
      },
      error: (err) => {
        c.errors.push(...(Array.isArray(err) ? err : [err]));
        resolve();
      },
      complete: () => {
        c.completed = true;
        resolve();
      },
    },
  );
  return c;
}

/** Subscribes over Yoga's SSE (POST, Accept: text/event-stream). */
export function subscribeSse<T = any>(
  graphqlUrl: string,
  token: string | undefined,
  query: string,
  variables: Record<string, unknown>,
  field: string,
): Collector<T> {
  const abort = new AbortController();
  const c: Collector<T> = {
    events: [],
    errors: [],
    completed: false,
    ended: Promise.resolve(),
    stop: () => abort.abort(),
  };
  c.ended = (async () => {
    try {
      const res = await fetch(graphqlUrl, {
        method: 'POST',
        signal: abort.signal,
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf('\n\n');
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          if (event === 'complete') {
            c.completed = true;
            continue;
          }
          if (!data) continue;
          const msg = JSON.parse(data);
          if (msg.errors) c.errors.push(...msg.errors);
          const v = msg.data?.[field];
          if (v !== undefined && v !== null) c.events.push(v);
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') c.errors.push(err);
    }
  })();
  return c;
}

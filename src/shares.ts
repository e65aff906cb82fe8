/**
 * Fair shares: how much of the server one client may hold at once, so that one user or one
 * address cannot starve the others. The defaults live here, once; config.ts and buildApp's
 * options take them from here.
 *
 * Guarantees:
 * - A `Quota` never lets more than `max` holders per key in at once; every holder released
 *   once gives its place back, a second release is a no-op.
 *
 * Not guaranteed: fairness in time. A quota caps what one key holds, it does not queue.
 */

/** Caps on WebSocket connections and subscriptions (see docs/api.md, "Limits"). */
export interface ShareLimits {
  /** Open WebSocket connections of one signed-in user (WS_MAX_CONNECTIONS_PER_USER). */
  wsConnectionsPerUser: number;
  /** Open WebSocket connections from one client address, signed in or not (WS_MAX_CONNECTIONS_PER_ADDRESS). */
  wsConnectionsPerAddress: number;
  /** Time a new WebSocket has to send `connection_init` (WS_INIT_TIMEOUT_MS). */
  wsInitTimeoutMs: number;
  /** Operations running at once on one graphql-ws connection (MAX_SUBSCRIPTIONS_PER_CONNECTION). */
  subscriptionsPerConnection: number;
  /** Subscriptions of one user across graphql-ws and SSE (MAX_SUBSCRIPTIONS_PER_USER). */
  subscriptionsPerUser: number;
}

/** Time limits on reading an HTTP request (see docs/api.md, "Limits"). */
export interface HttpTimeouts {
  /** The request line and headers must arrive within this (HTTP_HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (HTTP_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** No byte of a request body for this long cuts the request (HTTP_BODY_IDLE_TIMEOUT_MS). */
  bodyIdleTimeoutMs: number;
}

export const SHARE_DEFAULTS: Readonly<ShareLimits> = {
  wsConnectionsPerUser: 20,
  wsConnectionsPerAddress: 100,
  wsInitTimeoutMs: 5000,
  subscriptionsPerConnection: 50,
  subscriptionsPerUser: 100,
};

export const HTTP_TIMEOUT_DEFAULTS: Readonly<HttpTimeouts> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  bodyIdleTimeoutMs: 10_000,
};

/** Connections of the change feed's own pool for catch-up reads (FEED_CATCHUP_POOL_SIZE). */
export const CATCH_UP_POOL_DEFAULT = 2;

/**
 * graphql-ws close code for a connection over a cap (4429 is taken by graphql-ws for "too many
 * initialisation requests", which its clients never retry; this one they retry with backoff).
 */
export const CLOSE_TOO_MANY_CONNECTIONS = 4430;

/** Counts holders per key and refuses beyond `max`. */
export class Quota {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Takes a place for `key`; null when it already holds `max`. The result gives it back. */
  take(key: string): (() => void) | null {
    const n = this.count(key);
    if (n >= this.max) return null;
    this.counts.set(key, n + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = this.count(key) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    };
  }
}

/**
 * Connection-level shares and timeouts: who may hold a WebSocket, how many, with how many
 * operations, and how long an HTTP request may take to arrive.
 *
 * Guarantees:
 * - At most `wsConnectionsPerAddress` WebSockets per client address (an IPv6 address counts by
 *   its /64), counted from the upgrade until the TCP connection closes; more are refused with
 *   HTTP 429 before the handshake, costing no WebSocket at all.
 * - A WebSocket is acknowledged only after a `connection_init` carrying a valid token
 *   (`connectionParams.authorization`, or the upgrade request's Authorization header): without
 *   one it is closed with 4403 Forbidden; without any `connection_init` within `wsInitTimeoutMs`,
 *   with 4408 (graphql-ws). When the token cannot be checked (database unreachable) it is closed
 *   with 1013 Try again later, which clients retry.
 * - At most `wsConnectionsPerUser` acknowledged WebSockets per user; more are closed with
 *   `CLOSE_TOO_MANY_CONNECTIONS` (4430) and a reason naming the limit.
 * - A socket refused in any of these ways is dropped `CLOSE_GRACE_MS` later if its client has not
 *   completed the close handshake by then (ws itself would wait 30 s).
 * - At most `subscriptionsPerConnection` operations run at once on one WebSocket, and a user over
 *   the per-user subscription cap is refused before any database work; both with a graphql-ws
 *   `error` message, `extensions.code = TOO_MANY_SUBSCRIPTIONS`. (The per-user count itself is
 *   the feed's, shared with SSE: src/listeners/feed.ts `admit`.)
 * - An HTTP request's headers must arrive within `headersTimeoutMs`, the whole request within
 *   `requestTimeoutMs`, and a body that stops for `bodyIdleTimeoutMs` is cut (408). None of them
 *   applies once the request has arrived, so long-lived SSE responses and WebSockets stay open.
 */
import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GraphQLError } from 'graphql';
import type { Context as WsContext } from 'graphql-ws';
import type { WebSocket } from 'ws';
import { addressKey, peerAddress } from './auth/client-address.ts';
import { authenticate, type Viewer } from './auth/viewer.ts';
import type { Db } from './db.ts';
import type { Feed } from './listeners/feed.ts';
import { feedError } from './listeners/stream.ts';
import type { Logger } from './logger.ts';
import { CLOSE_TOO_MANY_CONNECTIONS, type HttpTimeouts, Quota, type ShareLimits } from './shares.ts';

type Extra = { request: IncomingMessage; socket: WebSocket };

/** How long a refused socket's client has to answer the close frame before the socket is dropped. */
export const CLOSE_GRACE_MS = 2000;

/** Drops `socket` after the grace unless it has closed by then (terminate is a no-op then). */
function dropLater(socket: WebSocket): void {
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
}

/** The Authorization value of a graphql-ws connection: its connectionParams, else the upgrade's header. */
export function wsAuthorization(
  connectionParams: Readonly<Record<string, unknown>> | undefined,
  req: IncomingMessage | undefined,
): string | undefined {
  const fromParams = connectionParams?.authorization ?? connectionParams?.Authorization;
  return typeof fromParams === 'string' ? fromParams : req?.headers.authorization;
}

export class SocketShares {
  private readonly perAddress: Quota;
  private readonly perUser: Quota;
  /** The user each acknowledged socket signed in as (for the cheap per-user check). */
  private readonly viewers = new WeakMap<WebSocket, Viewer>();
  /** Sockets whose connection_init is being checked. */
  private readonly initialising = new WeakSet<WebSocket>();
  private readonly log: Logger;

  constructor(
    readonly limits: ShareLimits,
    private readonly db: Db,
    private readonly feed: Feed,
    log: Logger,
  ) {
    this.perAddress = new Quota(limits.wsConnectionsPerAddress);
    this.perUser = new Quota(limits.wsConnectionsPerUser);
    this.log = log.child({ module: 'ws-shares' });
  }

  /**
   * Counts an upgrade request against its address until the connection closes; false (and the
   * request answered with 429) when the address holds its share already.
   */
  admitUpgrade(req: IncomingMessage, socket: Duplex): boolean {
    const address = addressKey(peerAddress(req));
    const release = this.perAddress.take(address);
    if (!release) {
      this.log.info({ address }, 'WebSocket refused: too many connections from this address');
      const reason = `Too many connections: at most ${this.perAddress.max} WebSockets per address\n`;
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\nconnection: close\r\nretry-after: 5\r\ncontent-type: text/plain\r\ncontent-length: ${reason.length}\r\n\r\n${reason}`,
        () => socket.destroy(),
      );
      return false;
    }
    if (socket.destroyed) release();
    else socket.once('close', release);
    return true;
  }

  /**
   * A new WebSocket: dropped if it is neither acknowledged nor being checked once graphql-ws has
   * closed it for a missing connection_init (4408) and the grace has passed.
   */
  opened(socket: WebSocket): void {
    setTimeout(() => {
      if (!this.viewers.has(socket) && !this.initialising.has(socket)) socket.terminate();
    }, this.limits.wsInitTimeoutMs + CLOSE_GRACE_MS).unref();
  }

  /** graphql-ws `onConnect`: a valid token and a free place for its user, or the socket closes. */
  async onConnect(ctx: WsContext<Record<string, unknown>, Extra>): Promise<boolean> {
    const { socket, request } = ctx.extra;
    let viewer: Viewer | null;
    this.initialising.add(socket);
    try {
      viewer = await authenticate(this.db, wsAuthorization(ctx.connectionParams, request));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'WebSocket token could not be checked');
      socket.close(1013, 'Try again later');
      dropLater(socket);
      return false;
    } finally {
      this.initialising.delete(socket);
    }
    if (!viewer) {
      dropLater(socket);
      return false; // graphql-ws closes with 4403 Forbidden
    }
    const release = this.perUser.take(viewer.userId);
    if (!release) {
      this.log.info({ userId: viewer.userId }, 'WebSocket refused: too many connections of this user');
      socket.close(
        CLOSE_TOO_MANY_CONNECTIONS,
        `Too many connections: at most ${this.perUser.max} WebSockets per user`,
      );
      dropLater(socket);
      return false;
    }
    if (socket.readyState === socket.CLOSED) {
      release();
      return false;
    }
    socket.once('close', release);
    this.viewers.set(socket, viewer);
    return true;
  }

  /** graphql-ws `onSubscribe`, before anything else: a refusal, or null to go on. */
  refusal(ctx: WsContext<Record<string, unknown>, Extra>): readonly GraphQLError[] | null {
    // graphql-ws has already entered this operation in `subscriptions`.
    const max = this.limits.subscriptionsPerConnection;
    if (Object.keys(ctx.subscriptions).length > max) {
      return [
        feedError(
          'TOO_MANY_SUBSCRIPTIONS',
          `Too many subscriptions: at most ${max} subscriptions per connection; end some before starting more`,
        ),
      ];
    }
    // The feed counts (and enforces) the per-user cap; refusing here spares the token check.
    const viewer = this.viewers.get(ctx.extra.socket);
    if (viewer && this.feed.subscriptionsOf(viewer.userId) >= this.feed.opts.maxSubscriptionsPerUser) {
      return [this.feed.tooManySubscriptions()];
    }
    return null;
  }
}

/** Node HTTP server options for the header and whole-request timeouts (checked every second or less). */
export function httpServerOptions(t: HttpTimeouts): ServerOptions {
  // Node refuses a headers timeout above the request timeout.
  const headers = Math.min(t.headersTimeoutMs, t.requestTimeoutMs || t.headersTimeoutMs);
  return {
    headersTimeout: headers,
    requestTimeout: t.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headers / 4))),
  };
}

/**
 * Cuts a request whose body stops arriving for `idleMs` (408, then the connection is closed).
 * The timer is the socket's idle timer, restarted by every byte received, and removed once the
 * body is in, before any response streams; the keep-alive timer Node sets afterwards is kept.
 */
export function watchRequestBody(
  req: IncomingMessage,
  res: ServerResponse,
  idleMs: number,
  log: Logger,
): void {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
  if (idleMs <= 0 || req.complete || !hasBody) return;
  const socket = req.socket;
  const onIdle = () => {
    if (req.complete) return;
    log.info({ url: req.url, idleMs }, 'request body stalled: connection closed');
    if (res.headersSent) {
      socket.destroy();
      return;
    }
    res.writeHead(408, { connection: 'close', 'content-type': 'text/plain' });
    res.end(`Request body timeout: no data for ${idleMs} ms\n`, () => socket.destroy());
  };
  const disarm = () => {
    req.off('timeout', onIdle);
    res.off('timeout', disarm);
    // Once the response has finished, Node owns the socket's timer (keep-alive): leave it.
    if (!socket.destroyed && !res.writableFinished) socket.setTimeout(0);
  };
  // Node emits the socket's timeout on the request while it is incomplete (the body stalled);
  // on the response once the body is in but not yet read, where it would otherwise close the
  // socket: then the timer just stops.
  req.setTimeout(idleMs, onIdle);
  res.on('timeout', disarm);
  req.once('end', disarm);
  req.once('close', disarm);
}

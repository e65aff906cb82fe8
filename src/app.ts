/**
 * buildApp(): the HTTP server with GraphQL (Yoga) at /graphql, GraphiQL on a browser GET of the
 * same URL (served locally, no CDN), graphql-ws on the same path (routed through
 * yoga.getEnveloped, so both transports share schema, context and plugins), and GET /health.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { ExecutionArgs, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga } from 'graphql-yoga';
import { type WebSocket, WebSocketServer } from 'ws';
import { type AccountLimits, DEFAULT_ACCOUNT_LIMITS } from './auth/accounts.ts';
import { peerAddress } from './auth/client-address.ts';
import { useAuthGate } from './auth/gate.ts';
import { LastUsedRecorder } from './auth/last-used.ts';
import { LoginGuard, type LoginLimits } from './auth/login-guard.ts';
import { configurePasswordHashing } from './auth/password.ts';
import { authenticate } from './auth/viewer.ts';
import { httpServerOptions, SocketShares, watchRequestBody } from './connections.ts';
import type { AppServices, Context } from './context.ts';
import { createDb } from './db.ts';
import {
  DEFAULT_DOCUMENT_LIMITS,
  type DocumentLimits,
  documentLimits,
  logOversizedMessages,
  refuseServerOnlyMessages,
} from './limits/index.ts';
import { FanOut } from './listeners/fanout.ts';
import { Feed } from './listeners/feed.ts';
import { graphql } from './listeners/graphql.ts';
import type { Logger } from './logger.ts';
import { createOps } from './ops/http.ts';
import { useRequestMetrics } from './ops/metrics.ts';
import { knownMigrations } from './ops/ready.ts';
import { DEFAULT_SALES_SETTINGS, type SalesSettings } from './sales.ts';
import { GROUPED_SUBSCRIPTIONS } from './schema/feed.ts';
import { schema } from './schema/index.ts';
import {
  CATCH_UP_POOL_DEFAULT,
  HTTP_TIMEOUT_DEFAULTS,
  type HttpTimeouts,
  SHARE_DEFAULTS,
  type ShareLimits,
} from './shares.ts';
import { renderGraphiQLPage, serveGraphiQLAsset } from './web/graphiql.ts';
import { GRAPHIQL_TABS } from './web/graphiql-tabs.ts';
import {
  CSRF_HEADER,
  corsPolicy,
  setSecurityHeaders,
  upgradeOriginAllowed,
  useSecurityHeaders,
} from './web/headers.ts';
import { createStaticHandler } from './web/static.ts';

export interface AppOptions {
  databaseUrl: string;
  log: Logger;
  poolSize?: number;
  statementTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
  /** Lifetime of login sessions in hours (SESSION_TTL_HOURS). */
  sessionTtlHours?: number;
  /** Sessions per user, API token lifetime, the clerks' stock-change limit (src/auth/accounts.ts). */
  accounts?: Partial<AccountLimits>;
  /** log2 of scrypt's N for new password hashes in this process (PASSWORD_HASH_COST; lower only in tests). */
  passwordHashCost?: number;
  /** Sign-in throttle and hashing cap (defaults: DEFAULT_LOGIN_LIMITS in src/auth/login-guard.ts). */
  login?: Partial<LoginLimits>;
  /** Serve the built web app from this folder at `/` (never shadowing /graphql or /health). */
  webDist?: string;
  /** Body size, tokens, depth, aliases, directives, cost (defaults: src/limits/defaults.ts). */
  documents?: Partial<DocumentLimits>;
  /** Browser origins besides the server's own allowed to call the API (CORS_ORIGINS; default none). */
  corsOrigins?: string[];
  /** Offline price policy, business name, tax on receipts (defaults: src/sales.ts). */
  sales?: Partial<SalesSettings>;
  /** Change-feed tuning (defaults: config.ts). */
  feed?: Partial<{
    pollMs: number;
    heartbeatMs: number;
    maxQueue: number;
    maxBufferedBytes: number;
    retentionDays: number;
    pruneEveryMs: number;
    /** Connections of the catch-up reads' own pool (default: CATCH_UP_POOL_DEFAULT in src/shares.ts). */
    catchUpPoolSize: number;
  }>;
  /** Caps on WebSocket connections and subscriptions (defaults: SHARE_DEFAULTS in src/shares.ts). */
  shares?: Partial<ShareLimits>;
  /** HTTP request read timeouts (defaults: HTTP_TIMEOUT_DEFAULTS in src/shares.ts). */
  http?: Partial<HttpTimeouts>;
  /** Bearer token for /metrics and detailed /health and /ready (METRICS_TOKEN); unset: loopback only. */
  metricsToken?: string;
}

export interface App {
  services: AppServices;
  yoga: ReturnType<typeof createYoga<Record<string, unknown>, Context>>;
  /** Listens on host:port (port 0 picks a free one); resolves with the base URL. */
  start(port: number, host: string): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
}

type EnvelopedArgs = ExecutionArgs & {
  rootValue: { execute: (a: ExecutionArgs) => unknown; subscribe: (a: ExecutionArgs) => unknown };
};

export function buildApp(opts: AppOptions): App {
  const log = opts.log;
  if (opts.passwordHashCost !== undefined) configurePasswordHashing({ cost: opts.passwordHashCost });
  const db = createDb(
    {
      url: opts.databaseUrl,
      poolSize: opts.poolSize ?? 10,
      statementTimeoutMs: opts.statementTimeoutMs ?? 15_000,
      idleInTransactionTimeoutMs: opts.idleInTransactionTimeoutMs ?? 10_000,
    },
    log,
  );
  const shares: ShareLimits = { ...SHARE_DEFAULTS, ...opts.shares };
  const httpTimeouts: HttpTimeouts = { ...HTTP_TIMEOUT_DEFAULTS, ...opts.http };
  const feed = new Feed({
    databaseUrl: opts.databaseUrl,
    pool: db.pool,
    log,
    pollMs: opts.feed?.pollMs ?? 2000,
    heartbeatMs: opts.feed?.heartbeatMs ?? 2000,
    maxQueue: opts.feed?.maxQueue ?? 2000,
    maxBufferedBytes: opts.feed?.maxBufferedBytes ?? 4 * 1024 * 1024,
    retentionMs: (opts.feed?.retentionDays ?? 7) * 86_400_000,
    pruneEveryMs: opts.feed?.pruneEveryMs ?? 3_600_000,
    catchUpPoolSize: opts.feed?.catchUpPoolSize ?? CATCH_UP_POOL_DEFAULT,
    maxSubscriptionsPerUser: shares.subscriptionsPerUser,
  });
  const fanout = new FanOut(feed, log, GROUPED_SUBSCRIPTIONS);
  const services: AppServices = {
    db,
    log,
    healthProbes: [() => feed.health()],
    feed,
    loginGuard: new LoginGuard(opts.login),
    accounts: { ...DEFAULT_ACCOUNT_LIMITS, ...opts.accounts },
    lastUsed: new LastUsedRecorder(db, log),
    sales: { ...DEFAULT_SALES_SETTINGS, ...opts.sales },
    sessionTtlMs: opts.sessionTtlHours === undefined ? undefined : opts.sessionTtlHours * 3_600_000,
  };
  const yogaLog = log.child({ module: 'yoga' });
  const corsOrigins = opts.corsOrigins ?? [];

  const limits: DocumentLimits = { ...DEFAULT_DOCUMENT_LIMITS, ...opts.documents };
  const documents = documentLimits(limits);
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    plugins: [
      // Only a JSON POST or a request with the CSRF header runs an operation (src/web/headers.ts).
      useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }),
      useSecurityHeaders(),
      useAuthGate(),
      useRequestMetrics(),
      ...documents.plugins,
    ],
    maxRequestBodySize: documents.maxRequestBodySize,
    parserAndValidationCache: documents.parserAndValidationCache,
    cors: corsPolicy(corsOrigins),
    // No field takes an upload: multipart bodies are not parsed at all.
    multipart: false,
    graphiql: {
      title: 'Branchline GraphiQL',
      defaultTabs: GRAPHIQL_TABS,
      additionalHeaders: { [CSRF_HEADER]: '1' },
    },
    renderGraphiQL: renderGraphiQLPage,
    // HTTP: the Authorization header. graphql-ws: connectionParams.authorization (or the header
    // of the upgrade request).
    context: async (initial) => {
      const { request, connectionParams, req } = initial as {
        request?: Request;
        connectionParams?: Record<string, unknown>;
        req?: IncomingMessage;
      };
      const fromParams = connectionParams?.authorization ?? connectionParams?.Authorization;
      const header =
        typeof fromParams === 'string'
          ? fromParams
          : (request?.headers.get('authorization') ?? req?.headers.authorization);
      const viewer = await authenticate(db, header);
      if (viewer) services.lastUsed.touch(viewer.tokenId);
      return { ...services, request, clientAddress: peerAddress(req), viewer };
    },
    logging: {
      debug: (...args) => yogaLog.debug({ args }, 'yoga'),
      info: (...args) => yogaLog.info({ args }, 'yoga'),
      warn: (...args) => yogaLog.warn({ args }, 'yoga'),
      error: (...args) =>
        yogaLog.error({ args: args.map((a) => (a instanceof Error ? a.stack : a)) }, 'yoga'),
    },
  });

  const ops = createOps({
    services,
    migrations: knownMigrations(),
    token: opts.metricsToken,
    webSockets: () => wsServer.clients.size,
  });
  const serveWeb = opts.webDist ? createStaticHandler(opts.webDist) : undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    setSecurityHeaders(req, res, 'api');
    if (serveGraphiQLAsset(req, res)) return;
    // /health, /ready, /metrics (src/ops/http.ts).
    if (await ops.handle(req, res)) return;
    if (serveWeb && (await serveWeb(req, res))) return;
    ops.trackSse(req, res);
    await yoga.handle(req, res);
  };
  const httpServer = createServer(httpServerOptions(httpTimeouts), (req, res) => {
    watchRequestBody(req, res, httpTimeouts.bodyIdleTimeoutMs, log);
    handle(req, res).catch((err) => {
      log.error({ err }, 'request failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  // noServer: the upgrade is routed here by hand, so an HTTP listen error (port in use) reaches
  // start() instead of graphql-ws's console message.
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: limits.maxBodyBytes });
  const socketShares = new SocketShares(shares, db, feed, log);
  wsServer.on('connection', (ws) => socketShares.opened(ws));
  httpServer.on('upgrade', (req, socket, head) => {
    if (!upgradeOriginAllowed(req, corsOrigins)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/graphql') {
      socket.destroy();
      return;
    }
    if (!socketShares.admitUpgrade(req, socket)) return;
    wsServer.handleUpgrade(req, socket, head, (ws) => {
      logOversizedMessages(ws, log, limits.maxBodyBytes);
      refuseServerOnlyMessages(ws, log);
      wsServer.emit('connection', ws, req);
    });
  });
  useServer<Record<string, unknown>, { request: IncomingMessage }>(
    {
      // No token, no socket: connection_init must carry a valid one (4403), within the time (4408).
      connectionInitWaitTimeout: shares.wsInitTimeoutMs,
      onConnect: (ctx) => socketShares.onConnect(ctx),
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args) as never,
      // A subscription refused at its start (no viewer, bad cursor...) ends with a graphql-ws
      // `error` message carrying extensions.code, not with a `next` holding errors.
      subscribe: async (args) => {
        const result = await (args as EnvelopedArgs).rootValue.subscribe(args);
        if (Symbol.asyncIterator in Object(result)) return result as never;
        const errors = (result as { errors?: readonly GraphQLError[] }).errors;
        if (!errors?.length) return result as never;
        // biome-ignore lint/correctness/useYield: a stream whose first step is the refusal
        return (async function* refused() {
          throw errors[0];
        })() as never;
      },
      onSubscribe: async (ctx, id, params) => {
        const refused = socketShares.refusal(ctx);
        if (refused) return refused as GraphQLError[];
        try {
          return (await subscribeOperation(ctx, id, params)) as EnvelopedArgs | GraphQLError[];
        } catch (err) {
          // The database is unreachable for a moment (or another unexpected failure): refuse this
          // operation with an error message instead of closing the whole socket.
          log.warn({ err: (err as Error).message }, 'subscription could not start');
          return [
            new graphql.GraphQLError('The subscription could not start; try again', {
              extensions: { code: 'UNAVAILABLE' },
            }),
          ];
        }
      },
    },
    wsServer,
  );

  /** graphql-ws onSubscribe: Yoga's parse/validate/context, then the grouped feed path if it applies. */
  async function subscribeOperation(
    ctx: { extra: { request: IncomingMessage; socket: WebSocket } },
    id: string,
    params: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  ): Promise<EnvelopedArgs | readonly GraphQLError[]> {
    const enveloped = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params });
    let document: ReturnType<typeof enveloped.parse>;
    try {
      // A document refused by a limit (src/limits/) throws its GraphQL error from parse or validate.
      document = enveloped.parse(params.query);
      const errors = enveloped.validate(enveloped.schema, document);
      if (errors.length > 0) return errors;
    } catch (err) {
      if (err instanceof graphql.GraphQLError) return [err];
      throw err;
    }
    const contextValue = (await enveloped.contextFactory()) as unknown as Context;
    const args: EnvelopedArgs = {
      schema: enveloped.schema,
      operationName: params.operationName,
      document,
      variableValues: params.variables,
      contextValue,
      rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
    };
    // Feed subscriptions alike in document, variables and access scope share one execution.
    const joined = await fanout.join({
      socket: ctx.extra.socket,
      id,
      query: params.query,
      schema: enveloped.schema,
      document,
      operationName: params.operationName,
      variables: params.variables,
      contextValue,
    });
    if (joined === null) return args;
    if (Array.isArray(joined)) return joined;
    return { ...args, rootValue: { execute: enveloped.execute, subscribe: () => joined } };
  }

  return {
    services,
    yoga,
    start(port, host) {
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        httpServer.once('error', onError);
        httpServer.listen(port, host, () => {
          httpServer.off('error', onError);
          feed.start();
          const address = httpServer.address() as AddressInfo;
          const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
          resolve({ url: `http://${shownHost}:${address.port}`, port: address.port });
        });
      });
    },
    async stop() {
      for (const client of wsServer.clients) client.terminate();
      await new Promise<void>((r) => wsServer.close(() => r()));
      httpServer.closeAllConnections();
      await new Promise<void>((r) => httpServer.close(() => r()));
      await feed.stop();
      await db.close();
    },
  };
}

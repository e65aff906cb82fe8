/** The per-request (per-subscription) GraphQL context: a fresh object for each operation. */
import type { LoginGuard } from './auth/login-guard.ts';
import type { Viewer } from './auth/viewer.ts';
import type { Db } from './db.ts';
import type { Feed } from './listeners/feed.ts';
import type { Logger } from './logger.ts';
import type { HealthProbe } from './resolvers/health.ts';

export interface AppServices {
  db: Db;
  log: Logger;
  healthProbes: HealthProbe[];
  /** Lifetime of a login session token (SESSION_TTL_HOURS); 7 days when unset. */
  sessionTtlMs?: number;
  /** The change feed of this process (listener, reader, hub); subscriptions are built on it. */
  feed: Feed;
  /** Sign-in throttle and password-hashing cap of this process. */
  loginGuard: LoginGuard;
}

export interface Context extends AppServices {
  /** The authenticated user, or null (then only login and introspection answer). */
  viewer: Viewer | null;
  /** The HTTP request (queries, mutations, SSE); absent for graphql-ws operations. */
  request?: Request;
  /**
   * The TCP peer address of the request (graphql-ws: of the upgrade request), `unknown` when there
   * is none. X-Forwarded-For is not trusted (src/auth/client-address.ts).
   */
  clientAddress: string;
}

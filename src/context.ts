/** The per-request (per-subscription) GraphQL context: a fresh object for each operation. */
import type { AccountLimits } from './auth/accounts.ts';
import type { LastUsedRecorder } from './auth/last-used.ts';
import type { LoginGuard } from './auth/login-guard.ts';
import type { Viewer } from './auth/viewer.ts';
import type { Db } from './db.ts';
import type { Feed } from './listeners/feed.ts';
import type { Logger } from './logger.ts';
import type { HealthProbe } from './resolvers/health.ts';
import type { SalesSettings } from './sales.ts';

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
  /** Sessions per user, API token lifetime, the clerks' stock-change limit (src/auth/accounts.ts). */
  accounts: AccountLimits;
  /** Writes api_tokens.last_used_at, at most once a minute per token. */
  lastUsed: LastUsedRecorder;
  /** Offline price policy, business name and tax for receipts (src/sales.ts). */
  sales: SalesSettings;
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

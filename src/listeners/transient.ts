/**
 * Which failures of a catch-up read may be retried: a passing database connection problem (the
 * server restarting, a connection dropped, a statement or connect timeout). Everything else (an
 * expired cursor, a changed history, a bug) ends the subscription with an error at once; a
 * transient problem is retried only for `RETRY_FOR_MS`, then the subscription ends with
 * UNAVAILABLE and the client resumes from its last cursor.
 */
import type { GraphQLError } from 'graphql';
import type { Logger } from '../logger.ts';
import { CursorError } from './cursor.ts';
import { graphql } from './graphql.ts';

/** How long a catch-up retries a transient failure before it gives up. */
export const RETRY_FOR_MS = 30_000;

/** SQLSTATE classes and codes of passing trouble (connection exceptions, shutdowns, timeouts). */
const TRANSIENT_SQLSTATE = /^(08|53)|^57P0[123]$|^57014$/;
const TRANSIENT_NODE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const TRANSIENT_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Query read timeout/i;

export function isTransient(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e) return false;
  if (typeof e.code === 'string' && (TRANSIENT_SQLSTATE.test(e.code) || TRANSIENT_NODE.has(e.code)))
    return true;
  return typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message);
}

/** The wait before retry `attempt` (1, 2, ...): 100 ms, doubling, at most 1 s. */
export function retryDelay(attempt: number): number {
  return Math.min(50 * 2 ** attempt, 1000);
}

/**
 * What a failed read means for its subscription (a catch-up read, a dashboard query): the error
 * that ends it, or null to retry (a transient problem, while it has lasted less than RETRY_FOR_MS
 * since `failingSince`). An expired cursor or a changed history ends it with CURSOR_EXPIRED;
 * anything unexpected is logged and ends it at once (retrying a bug would hang it for ever).
 */
export function catchUpFailure(
  err: unknown,
  failingSince: number,
  log: Logger,
  what = 'catch-up',
): GraphQLError | null {
  if (err instanceof graphql.GraphQLError) return err;
  if (err instanceof CursorError) {
    log.info({ code: err.code, reason: err.message }, `${what} ended: the cursor cannot be served`);
    return new graphql.GraphQLError(err.message, { extensions: { code: err.code } });
  }
  if (isTransient(err)) {
    if (Date.now() - failingSince < RETRY_FOR_MS) return null;
    log.warn({ err: (err as Error).message }, `${what} gave up: the database stayed unreachable`);
    return new graphql.GraphQLError(
      'The database stayed unreachable; subscribe again (from the last cursor received)',
      {
        extensions: { code: 'UNAVAILABLE' },
      },
    );
  }
  log.error({ err }, `${what} failed`);
  return new graphql.GraphQLError(
    'The subscription failed; subscribe again (from the last cursor received)',
    {
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    },
  );
}

/**
 * The two ways resolvers touch the database in a transaction.
 *
 * - `writeTx`: one short transaction per mutation, at the server's default isolation, READ
 *   COMMITTED (not set explicitly: that would cost one more round trip). It first sets
 *   `app.actor` (SET LOCAL, so the triggers attribute every change to the viewer's email), then,
 *   when an idempotencyKey is given, takes a transaction-scoped advisory lock on (user, key):
 *   a concurrent duplicate waits, then finds the stored result. The stored result is written in
 *   the same transaction as the change, so "applied" and "remembered" cannot come apart. Only
 *   successful results are stored: an error means nothing was applied, so a retry may run again.
 * - `readSnapshot`: one REPEATABLE READ transaction that reads the change-feed position of its
 *   own snapshot before the rows, so a client that loads a list and then subscribes from
 *   `feedCursor` misses nothing.
 */
import { createHash } from 'node:crypto';
import type { Context } from '../context.ts';
import { IdempotencyKeyReusedError, ValidationError } from '../errors.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { encodeCursor, SNAPSHOT_POSITION_SQL } from '../listeners/cursor.ts';
import { idempotentReplays } from '../ops/counters.ts';
import { pruneIdempotencyKeysSoon } from './idempotency-prune.ts';
import { requireViewer } from './viewer.ts';

export type Tx = Prisma.TransactionClient;

const TX_OPTIONS = { maxWait: 15_000, timeout: 20_000 } as const;

export interface WriteOp {
  /** The mutation's name: part of the idempotency fingerprint. */
  operation: string;
  /** The arguments that define the request (without the idempotencyKey). */
  args: unknown;
  idempotencyKey?: string | null;
}

/** Deterministic JSON (sorted keys) for fingerprinting arguments. */
function stableJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}

export function requestHash(operation: string, args: unknown): string {
  return createHash('sha256')
    .update(`${operation}\n${stableJson(args)}`)
    .digest('hex');
}

/**
 * The checked idempotencyKey of a write (null when none was given) and its request fingerprint;
 * schedules the pruning of old keys when a key is used.
 */
export function idempotencyOf(ctx: Context, op: WriteOp): { key: string | null; hash: string } {
  const key = op.idempotencyKey ?? null;
  if (key === null) return { key, hash: '' };
  if (key.length < 1 || key.length > 200) {
    throw new ValidationError('idempotencyKey must be 1 to 200 characters', [
      { path: ['idempotencyKey'], message: 'must be 1 to 200 characters' },
    ]);
  }
  // PostgreSQL text cannot hold NUL: the key's lookup would fail instead of refusing it.
  if (key.includes('\u0000')) {
    throw new ValidationError('idempotencyKey must not contain NUL characters', [
      { path: ['idempotencyKey'], message: 'must not contain NUL characters' },
    ]);
  }
  pruneIdempotencyKeysSoon(ctx);
  return { key, hash: requestHash(op.operation, op.args) };
}

/**
 * Runs `fn` in a write transaction as the viewer. With an idempotencyKey, a repeat returns the
 * stored first result (as JSON: scalars as stored, relations loaded afresh) and applies nothing;
 * `serialize` shapes what is stored (e.g. to drop a secret shown only once).
 */
export async function writeTx<T>(
  ctx: Context,
  op: WriteOp,
  fn: (tx: Tx) => Promise<T>,
  serialize: (result: T) => unknown = (r) => r,
): Promise<T> {
  const viewer = requireViewer(ctx);
  const { key, hash } = idempotencyOf(ctx, op);
  return ctx.db.prisma.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT set_config('app.actor', ${viewer.email}, true)`;
    if (key !== null) {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`${viewer.userId}:${key}`}, 0))`;
      const stored = await tx.idempotencyKey.findUnique({
        where: { userId_key: { userId: viewer.userId, key } },
      });
      if (stored) {
        if (stored.operation !== op.operation || stored.requestHash !== hash)
          throw new IdempotencyKeyReusedError(key);
        ctx.log.debug({ module: 'idempotency', operation: op.operation }, 'replayed stored result');
        idempotentReplays.inc({ mutation: op.operation });
        return stored.response as T;
      }
    }
    const result = await fn(tx);
    if (key !== null) {
      const response = JSON.parse(JSON.stringify(serialize(result) ?? null)) as Prisma.InputJsonValue;
      await tx.idempotencyKey.create({
        data: { userId: viewer.userId, key, operation: op.operation, requestHash: hash, response },
      });
    }
    return result;
  }, TX_OPTIONS);
}

/** Runs `fn` in a REPEATABLE READ transaction; returns its result and the snapshot's feed cursor. */
export async function readSnapshot<T>(
  ctx: Context,
  fn: (tx: Tx) => Promise<T>,
): Promise<{ result: T; feedCursor: string }> {
  return ctx.db.prisma.$transaction(
    async (tx) => {
      const [pos] =
        await tx.$queryRawUnsafe<{ xid: string; id: string; epoch: string; stamp: string | null }[]>(
          SNAPSHOT_POSITION_SQL,
        );
      const result = await fn(tx);
      return { result, feedCursor: encodeCursor(pos) };
    },
    { ...TX_OPTIONS, isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead },
  );
}

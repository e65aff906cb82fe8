/**
 * Retention of idempotency keys: a key is kept for 7 days (long enough for an offline client to
 * replay), then deleted. The delete runs after a write has committed, at most once an hour per
 * database pool, outside the write transaction, and its failure only logs.
 */
import type { Context } from '../context.ts';

export const IDEMPOTENCY_RETENTION_DAYS = 7;
const EVERY_MS = 3_600_000;
const lastRun = new WeakMap<object, number>();

export function pruneIdempotencyKeysSoon(ctx: Context): void {
  const now = Date.now();
  if (now - (lastRun.get(ctx.db.pool) ?? 0) < EVERY_MS) return;
  lastRun.set(ctx.db.pool, now);
  ctx.db.pool
    .query(`DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(days => $1)`, [
      IDEMPOTENCY_RETENTION_DAYS,
    ])
    .then((r) => {
      if (r.rowCount) ctx.log.info({ module: 'idempotency', deleted: r.rowCount }, 'pruned idempotency keys');
    })
    .catch((err: unknown) => ctx.log.warn({ module: 'idempotency', err }, 'pruning idempotency keys failed'));
}

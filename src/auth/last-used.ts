/**
 * `api_tokens.last_used_at`: when a token (session or API token) was last used, for the people
 * who list and revoke tokens.
 *
 * Guarantees:
 * - At most one write per token per `everyMs` (a minute) from each server process, and none at all
 *   while the stored value is younger than that (the UPDATE checks), so a busy token costs one
 *   small UPDATE a minute, not one per request.
 * - The write neither moves the token's version nor reaches the change feed: the api_tokens
 *   triggers skip an update that changes only last_used_at (migration 20261127120000_accounts).
 * - Fire and forget: a failed write is logged at debug level and never fails the request.
 *
 * Not guaranteed: exactness. The value is the start of a request within the last minute or so;
 * a process that stops may lose its last minute.
 */
import { LRUCache } from 'lru-cache';
import type { Db } from '../db.ts';
import type { Logger } from '../logger.ts';

export class LastUsedRecorder {
  readonly #written: LRUCache<string, number>;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly everyMs = 60_000,
  ) {
    this.#written = new LRUCache({ max: 100_000 });
  }

  /** Notes that `tokenId` was used now; writes it when the last write is older than `everyMs`. */
  touch(tokenId: string, now = Date.now()): void {
    const last = this.#written.get(tokenId);
    if (last !== undefined && now - last < this.everyMs) return;
    this.#written.set(tokenId, now);
    this.db.pool
      .query(
        `UPDATE api_tokens SET last_used_at = now()
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`,
        [tokenId, this.everyMs / 1000],
      )
      .catch((err: Error) =>
        this.log.debug({ module: 'auth', err: err.message }, 'last_used_at not written'),
      );
  }
}

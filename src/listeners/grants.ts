/**
 * Access that follows changes live (DESIGN.md "Authorization"): the rights of every open
 * subscription of this process, re-decided when the change feed carries a change of a user, of a
 * user's branches or of a token, and when a token expires.
 *
 * Guarantees:
 * - In feed order, on every process alike: the hub hands each row of `users`, `user_branches` and
 *   `api_tokens` to `apply` before it delivers that row, or any row after it, to anybody. `apply`
 *   holds every open subscription of that user (or token) at once: from then on it is sent
 *   nothing. Its rights are then read again from the database (one query per token, started after
 *   the change was committed, so they are at least as new as the change) and it either ends or
 *   continues under them, re-reading from the log what arrived while it was held. No change after
 *   an access change is ever judged by the rights from before it, and no process needs another
 *   process: each reads the same rows in the same order.
 * - How it ends: `UNAUTHENTICATED` when the token was revoked (a session ended) or expired, or the
 *   user was deactivated or deleted; `PASSWORD_CHANGE_REQUIRED` when the user must change their
 *   password first (src/auth/gate.ts); whatever the subscription itself refuses under the new
 *   rights (`FORBIDDEN` for a branch it may no longer see); otherwise it continues.
 * - From the start: rights read before a subscription registered may predate an access change
 *   this process handled in between (`Viewer.readAt`); such a subscription starts held and is
 *   re-checked the same way.
 * - Expiry: a subscription ends with `UNAUTHENTICATED` when its token's `expires_at` passes, by a
 *   timer and by a check before every batch the hub delivers (no row marks an expiry).
 * - A re-check that fails on a passing database problem is retried for `RETRY_FOR_MS`, the
 *   subscriptions staying held; then they end with `UNAVAILABLE` (the client resumes from its last
 *   cursor and is authenticated afresh).
 * - Bounded: the record of recent access changes (for the start check) keeps at most
 *   `RECENT_MAX` entries and `RECENT_MS`; a subscription whose rights are older than what was
 *   forgotten is simply re-checked.
 *
 * Not guaranteed: the rights applied are the newest, not exactly those at the change's position:
 * a change held back and re-read after a re-check is judged by rights that may be newer still.
 * A change that waits in the log behind an older open transaction (docs/change-feed.md) delays the
 * re-check as it delays every later change, so nothing is delivered under the old rights meanwhile.
 */
import type { GraphQLError } from 'graphql';
import type pg from 'pg';
import { passwordChangeRequired } from '../auth/gate.ts';
import { type Viewer, viewerOfToken } from '../auth/viewer.ts';
import type { Logger } from '../logger.ts';
import { graphql } from './graphql.ts';
import type { ChangeRow } from './reader.ts';
import { feedError } from './stream.ts';
import { isTransient, RETRY_FOR_MS, retryDelay } from './transient.ts';

/** Tables whose changes re-decide access. */
export const ACCESS_TABLES: ReadonlySet<string> = new Set(['users', 'user_branches', 'api_tokens']);

const RECENT_MAX = 10_000;
const RECENT_MS = 60_000;
/** setTimeout's longest delay; a later expiry is looked at again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const ACCESS_ENDED_MESSAGE =
  'Your access ended (signed out, token revoked or expired, or account deactivated); sign in again';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const unavailable = (message: string) =>
  new graphql.GraphQLError(message, { extensions: { code: 'UNAVAILABLE' } });

/** A re-check's verdict for one held subscription, as its holder sees it. */
export interface ResumeTurn {
  /** Whether this is still the newest verdict (no change has held the subscription since). */
  readonly current: boolean;
  /** Marks the subscription live again if `current`; the holder then goes on at once. */
  commit(): boolean;
}

/** One open subscription, as the grants see it. */
export interface GrantHolder {
  /** Send nothing more from now on, until `resume` (synchronous). */
  hold(): void;
  /**
   * The rights were read again: the error to end with when they no longer allow what was asked,
   * or null. To continue, call `turn.commit()` and, only if it returns true, go on under `viewer`
   * at once (synchronously); false means a newer change holds it again (stay held). Work done
   * asynchronously first (joining another group) is dropped when `turn.current` has turned false.
   */
  resume(viewer: Viewer, turn: ResumeTurn): GraphQLError | null | Promise<GraphQLError | null>;
  /** End with this error, sending nothing more. */
  end(error: GraphQLError): void;
}

export class Grant {
  /** Bumped by every hold: a re-check applies only to the holds it started after. */
  epoch = 0;
  /** The epoch the last completed read of the rights covers. */
  checked = 0;
  held = false;
  ended = false;

  constructor(
    private readonly grants: Grants,
    public viewer: Viewer,
    readonly holder: GrantHolder,
  ) {}

  /** The subscription has ended (for whatever reason): forget it. */
  detach(): void {
    if (this.ended) return;
    this.ended = true;
    this.grants.forget(this);
  }

  end(error: GraphQLError): void {
    if (this.ended) return;
    this.detach();
    this.holder.end(error);
  }
}

function index(map: Map<string, Set<Grant>>, key: string, grant: Grant): void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(grant);
}

function unindex(map: Map<string, Set<Grant>>, key: string, grant: Grant): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(grant);
  if (set.size === 0) map.delete(key);
}

export class Grants {
  private readonly byToken = new Map<string, Set<Grant>>();
  private readonly byUser = new Map<string, Set<Grant>>();
  /** Grants whose token expires, and the earliest expiry among them (ms since the epoch). */
  private readonly expiring = new Set<Grant>();
  private nextExpiry = Number.POSITIVE_INFINITY;
  private expiryTimer: NodeJS.Timeout | undefined;
  /** performance.now() of the last access change seen per user id and per token id. */
  private readonly recent = new Map<string, number>();
  private forgottenBefore = 0;
  /** Tokens whose rights are being read now. */
  private readonly checking = new Set<string>();
  private readonly log: Logger;
  /** Re-checks run (tests, health). */
  rechecks = 0;

  constructor(
    private readonly pool: pg.Pool,
    log: Logger,
  ) {
    this.log = log.child({ module: 'feed-grants' });
  }

  /** The viewer of each token with open subscriptions here: one signed-in screen each (sync status). */
  screens(): Viewer[] {
    const out: Viewer[] = [];
    for (const set of this.byToken.values()) {
      const first = set.values().next().value;
      if (first) out.push(first.viewer);
    }
    return out;
  }

  /** Open subscriptions this process follows. */
  get size(): number {
    let n = 0;
    for (const set of this.byToken.values()) n += set.size;
    return n;
  }

  /**
   * Follows a subscription that has just registered with the hub (call it synchronously after
   * registering). It starts held (and is re-checked) when its rights may predate an access change
   * this process has already handled.
   */
  attach(viewer: Viewer, holder: GrantHolder): Grant {
    const grant = new Grant(this, viewer, holder);
    index(this.byToken, viewer.tokenId, grant);
    index(this.byUser, viewer.userId, grant);
    this.watchExpiry(grant);
    const readAt = viewer.readAt;
    const stale =
      readAt === undefined ||
      readAt < this.forgottenBefore ||
      (this.recent.get(viewer.userId) ?? Number.NEGATIVE_INFINITY) >= readAt ||
      (this.recent.get(viewer.tokenId) ?? Number.NEGATIVE_INFINITY) >= readAt;
    if (stale) this.hold(grant);
    return grant;
  }

  forget(grant: Grant): void {
    unindex(this.byToken, grant.viewer.tokenId, grant);
    unindex(this.byUser, grant.viewer.userId, grant);
    this.expiring.delete(grant);
  }

  /** Whether a row re-decides access (the hub calls `apply` for it, in order). */
  relevant(row: ChangeRow): boolean {
    return ACCESS_TABLES.has(row.tbl);
  }

  /** An access change, in feed order, before that row or any later one is delivered. */
  apply(row: ChangeRow): void {
    const now = performance.now();
    // users and user_branches rows carry the user's id as row_id; api_tokens rows the token's.
    const key = row.rowId;
    if (row.tbl === 'api_tokens' && row.op === 'I') return; // a new token has no subscriptions yet
    this.remember(key, now);
    const grants = row.tbl === 'api_tokens' ? this.byToken.get(key) : this.byUser.get(key);
    if (!grants) return;
    for (const g of [...grants]) this.hold(g);
  }

  /** Before the hub delivers a batch: subscriptions whose token has expired end first. */
  beforeDeliver(): void {
    if (Date.now() >= this.nextExpiry) this.expire();
  }

  stop(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  private remember(key: string, now: number): void {
    this.recent.delete(key);
    this.recent.set(key, now);
    for (const [k, at] of this.recent) {
      if (this.recent.size <= RECENT_MAX && at > now - RECENT_MS) break;
      this.recent.delete(k);
      this.forgottenBefore = Math.max(this.forgottenBefore, at);
    }
  }

  private hold(grant: Grant): void {
    if (grant.ended) return;
    grant.epoch++;
    if (!grant.held) {
      grant.held = true;
      grant.holder.hold();
    }
    void this.recheck(grant.viewer.tokenId);
  }

  /**
   * Reads the rights of a token again and decides its held subscriptions; again while some were
   * held after the read started (its snapshot may predate their change).
   */
  private async recheck(tokenId: string): Promise<void> {
    if (this.checking.has(tokenId)) return;
    this.checking.add(tokenId);
    let failingSince: number | undefined;
    let attempt = 0;
    try {
      for (;;) {
        const held = [...(this.byToken.get(tokenId) ?? [])].filter(
          (g) => g.held && !g.ended && g.checked !== g.epoch,
        );
        if (held.length === 0) return;
        const epochs = new Map(held.map((g) => [g, g.epoch]));
        let viewer: Viewer | null;
        try {
          this.rechecks++;
          viewer = await viewerOfToken(this.pool, tokenId);
          failingSince = undefined;
          attempt = 0;
        } catch (err) {
          failingSince ??= Date.now();
          if (isTransient(err) && Date.now() - failingSince < RETRY_FOR_MS) {
            await sleep(retryDelay(++attempt));
            continue;
          }
          this.log.warn({ err: (err as Error).message }, 'rights could not be read again; subscriptions end');
          for (const g of held) g.end(unavailable('Your access could not be checked; subscribe again'));
          return;
        }
        for (const g of held) {
          if (g.ended || g.epoch !== epochs.get(g)) continue;
          g.checked = g.epoch;
          void this.decide(g, viewer);
        }
      }
    } finally {
      this.checking.delete(tokenId);
    }
  }

  private async decide(grant: Grant, viewer: Viewer | null): Promise<void> {
    // A token handed to another user (an UPDATE of user_id) ends like a revoked one.
    if (
      !viewer ||
      viewer.userId !== grant.viewer.userId ||
      (viewer.expiresAt && viewer.expiresAt.getTime() <= Date.now())
    ) {
      this.log.info({ tokenId: grant.viewer.tokenId }, 'access ended: subscription closed');
      grant.end(feedError('UNAUTHENTICATED', ACCESS_ENDED_MESSAGE));
      return;
    }
    // As the gate refuses a new subscription then (resetPassword also ends the sessions).
    if (viewer.mustChangePassword) {
      grant.end(passwordChangeRequired());
      return;
    }
    const epoch = grant.epoch;
    this.expiring.delete(grant);
    grant.viewer = viewer;
    this.watchExpiry(grant);
    const turn: ResumeTurn = {
      get current() {
        return !grant.ended && grant.epoch === epoch;
      },
      commit() {
        if (!this.current) return false;
        grant.held = false;
        return true;
      },
    };
    let refusal: GraphQLError | null;
    try {
      refusal = await grant.holder.resume(viewer, turn);
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'a subscription could not continue under its new rights',
      );
      refusal = unavailable('The subscription could not continue; subscribe again');
    }
    // A refusal under rights that a newer change has replaced waits for the newer verdict.
    if (refusal && turn.current) grant.end(refusal);
  }

  private watchExpiry(grant: Grant): void {
    const at = grant.viewer.expiresAt?.getTime();
    if (at === undefined) return;
    this.expiring.add(grant);
    if (at < this.nextExpiry) {
      this.nextExpiry = at;
      this.arm();
    }
  }

  private arm(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (this.nextExpiry === Number.POSITIVE_INFINITY) return;
    const delay = Math.min(Math.max(0, this.nextExpiry - Date.now()), MAX_TIMER_MS);
    this.expiryTimer = setTimeout(() => this.expire(), delay);
    this.expiryTimer.unref();
  }

  /** Ends every subscription whose token has expired and arms the timer for the next expiry. */
  private expire(): void {
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const g of [...this.expiring]) {
      const at = g.viewer.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
      if (at <= now) {
        this.log.info({ tokenId: g.viewer.tokenId }, 'token expired: subscription closed');
        g.end(feedError('UNAUTHENTICATED', ACCESS_ENDED_MESSAGE));
      } else {
        next = Math.min(next, at);
      }
    }
    this.nextExpiry = next;
    this.arm();
  }
}

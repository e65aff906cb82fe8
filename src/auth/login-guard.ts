/**
 * Sign-in protection: a failure throttle per account and per client address, and a cap on
 * concurrent password hashing. Mechanism only; the login resolver decides what to answer.
 *
 * Guarantees (per server process):
 * - After `maxFailures` failed sign-ins for one account (the normalised email, held only as a
 *   SHA-256) or `addressMaxFailures` from one client address (IPv6 by /64), further attempts wait
 *   an exponential delay (`firstDelayMs`, then doubled per failure, at most `maxDelayMs`) measured from the last failure,
 *   during which they are refused without a database lookup or a hash. Refused attempts do not
 *   count and do not lengthen the delay.
 * - Failures are forgotten once `windowMs` has passed since the later of the last failure and the
 *   end of its delay (so waiting out the delay does not buy a fresh set of free guesses).
 * - A success resets its account's count; never its address's (one valid account must not
 *   launder an address's guesses at other accounts).
 * - At most `maxConcurrentHashes` password checks run at once (scrypt runs in libuv's thread pool
 *   of 4, shared with file reads, DNS and zlib) and at most `hashQueue` wait; a further attempt is
 *   refused at once.
 * - Bounded memory: at most `maxEntries` accounts and `maxEntries` addresses, least recently
 *   failed forgotten first (lru-cache), each entry dropped when it expires.
 *
 * Not guaranteed:
 * - Across processes: each server process counts on its own (N processes allow N times as many
 *   attempts). Restarting a process forgets its counts.
 * - An attacker holding more than `maxEntries / addressMaxFailures` addresses can push entries
 *   out. Anyone can delay a known account's sign-ins by failing on purpose: a delay of at most
 *   `maxDelayMs`, never a lockout.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import pLimit from 'p-limit';
import { addressKey } from './client-address.ts';

export interface LoginLimits {
  /** Failures per account before the delay starts (LOGIN_MAX_FAILURES). */
  maxFailures: number;
  /** Failures per client address before the delay starts (LOGIN_ADDRESS_MAX_FAILURES). */
  addressMaxFailures: number;
  /** How long a failure is remembered (LOGIN_WINDOW_SECONDS). */
  windowMs: number;
  /** The first delay; each further failure doubles it (LOGIN_FIRST_DELAY_SECONDS). */
  firstDelayMs: number;
  /** The longest delay (LOGIN_MAX_DELAY_SECONDS). */
  maxDelayMs: number;
  /** Password checks running at once (LOGIN_MAX_CONCURRENT_HASHES). */
  maxConcurrentHashes: number;
  /** Password checks waiting for a slot (LOGIN_HASH_QUEUE). */
  hashQueue: number;
  /** Accounts, and separately addresses, remembered (LOGIN_THROTTLE_ENTRIES). */
  maxEntries: number;
}

/** The defaults (config.ts and app.ts take them from here). */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  maxFailures: 5,
  addressMaxFailures: 20,
  windowMs: 15 * 60_000,
  firstDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
  maxConcurrentHashes: 2,
  hashQueue: 20,
  maxEntries: 10_000,
};

interface Failures {
  count: number;
  lastAt: number;
  blockedUntil: number;
}

/** Failure counts of one kind of key, bounded in number. */
class FailureCounter {
  readonly #entries: LRUCache<string, Failures>;

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly firstDelayMs: number,
    private readonly maxDelayMs: number,
    maxEntries: number,
  ) {
    this.#entries = new LRUCache({ max: maxEntries });
  }

  get size(): number {
    return this.#entries.size;
  }

  waitMs(key: string, now: number): number {
    return Math.max(0, (this.#entries.get(key)?.blockedUntil ?? 0) - now);
  }

  /** Counts a failure; returns the delay it starts (0 while under the threshold). */
  fail(key: string, now: number): number {
    const old = this.#entries.get(key);
    const fresh = !old || now - Math.max(old.lastAt, old.blockedUntil) > this.windowMs;
    const count = (fresh ? 0 : old.count) + 1;
    const over = count - this.maxFailures;
    const delay = over < 0 ? 0 : Math.min(this.maxDelayMs, this.firstDelayMs * 2 ** Math.min(over, 30));
    const entry = { count, lastAt: now, blockedUntil: now + delay };
    this.#entries.set(key, entry, { ttl: delay + this.windowMs });
    return delay;
  }

  reset(key: string): void {
    this.#entries.delete(key);
  }
}

/** The throttling key of an account: a SHA-256 of the normalised email (never the email). */
export function accountKey(normalisedEmail: string): string {
  return createHash('sha256').update(normalisedEmail).digest('hex').slice(0, 32);
}

export class LoginGuard {
  readonly limits: LoginLimits;
  readonly #accounts: FailureCounter;
  readonly #addresses: FailureCounter;
  readonly #hashing: ReturnType<typeof pLimit>;

  constructor(limits: Partial<LoginLimits> = {}) {
    this.limits = { ...DEFAULT_LOGIN_LIMITS, ...limits };
    const { maxFailures, addressMaxFailures, windowMs, firstDelayMs, maxDelayMs, maxEntries } = this.limits;
    this.#accounts = new FailureCounter(maxFailures, windowMs, firstDelayMs, maxDelayMs, maxEntries);
    this.#addresses = new FailureCounter(addressMaxFailures, windowMs, firstDelayMs, maxDelayMs, maxEntries);
    this.#hashing = pLimit(this.limits.maxConcurrentHashes);
  }

  /** Milliseconds until this account may try again from this address (0: now). */
  waitMs(account: string, address: string, now = Date.now()): number {
    return Math.max(this.#accounts.waitMs(account, now), this.#addresses.waitMs(addressKey(address), now));
  }

  /** Counts a failure for both; returns the delay that starts now (0: none). */
  failed(account: string, address: string, now = Date.now()): number {
    return Math.max(this.#accounts.fail(account, now), this.#addresses.fail(addressKey(address), now));
  }

  succeeded(account: string): void {
    this.#accounts.reset(account);
  }

  /**
   * Runs `check` (a lookup and a password hash) in a hashing slot, or returns undefined at once
   * when the slots and the queue are full.
   *
   * @remarks p-limit caps the concurrency; its queue has no bound of its own, so the bound is
   * checked here before enqueueing (its counts are updated synchronously).
   */
  hashing<T>(check: () => Promise<T>): Promise<T> | undefined {
    const { maxConcurrentHashes, hashQueue } = this.limits;
    if (this.#hashing.activeCount + this.#hashing.pendingCount >= maxConcurrentHashes + hashQueue) return;
    return this.#hashing(check);
  }

  /** For tests and health: checks running, waiting, and entries remembered. */
  stats(): { hashing: number; waiting: number; accounts: number; addresses: number } {
    return {
      hashing: this.#hashing.activeCount,
      waiting: this.#hashing.pendingCount,
      accounts: this.#accounts.size,
      addresses: this.#addresses.size,
    };
  }
}

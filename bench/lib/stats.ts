/**
 * Timing and statistics shared by the orchestrator and its child processes.
 *
 * - `now()` is wall-clock milliseconds with sub-millisecond resolution
 *   (`performance.timeOrigin + performance.now()`), comparable across processes on one machine.
 * - Latencies are kept in a log-scale histogram (1 % wide buckets of microseconds): percentiles
 *   are exact to 1 %, the maximum is exact, and a histogram merges across processes by adding
 *   counts. Negative latencies (an event received before its writer saw the commit acknowledged:
 *   both happen after the commit, in either order) are kept as they are, in buckets of their own
 *   mirrored below zero, and counted: never set to 0.
 */

export function now(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const GROWTH = Math.log(1.01);

/** A sparse latency histogram in milliseconds (bucket keys below 0 hold negative values). */
export interface Histogram {
  buckets: Record<number, number>;
  count: number;
  max: number;
  min: number;
  sum: number;
  /** Values below 0 (recorded as they are, never clamped). */
  negative: number;
}

export function emptyHistogram(): Histogram {
  return {
    buckets: {},
    count: 0,
    max: Number.NEGATIVE_INFINITY,
    min: Number.POSITIVE_INFINITY,
    sum: 0,
    negative: 0,
  };
}

/** Bucket of a value: k >= 0 for v >= 0; -1 - k for -v, so keys sort as the values do. */
function bucketOf(v: number): number {
  const k = Math.floor(Math.log(Math.abs(v) * 1000 + 1) / GROWTH);
  return v < 0 ? -1 - k : k;
}

/** The middle of bucket `key` in ms (negative keys mirror the positive ones). */
function middleOf(key: number): number {
  const k = key < 0 ? -1 - key : key;
  const lo = (Math.exp(k * GROWTH) - 1) / 1000;
  const hi = (Math.exp((k + 1) * GROWTH) - 1) / 1000;
  return key < 0 ? -(lo + hi) / 2 : (lo + hi) / 2;
}

export function record(h: Histogram, ms: number): void {
  const idx = bucketOf(ms);
  h.buckets[idx] = (h.buckets[idx] ?? 0) + 1;
  h.count++;
  h.sum += ms;
  if (ms < 0) h.negative++;
  if (ms > h.max) h.max = ms;
  if (ms < h.min) h.min = ms;
}

export function merge(into: Histogram, from: Histogram): Histogram {
  for (const [k, c] of Object.entries(from.buckets)) {
    const idx = Number(k);
    into.buckets[idx] = (into.buckets[idx] ?? 0) + c;
  }
  into.count += from.count;
  into.sum += from.sum;
  into.negative += from.negative ?? 0;
  into.max = Math.max(into.max, from.max);
  into.min = Math.min(into.min, from.min);
  return into;
}

/** The q-quantile (0..1) in ms: the middle of its bucket, within the exact minimum and maximum. */
export function quantile(h: Histogram, q: number): number {
  if (h.count === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * h.count));
  const keys = Object.keys(h.buckets)
    .map(Number)
    .sort((a, b) => a - b);
  let seen = 0;
  for (const k of keys) {
    seen += h.buckets[k] ?? 0;
    if (seen >= rank) return Math.max(h.min, Math.min(middleOf(k), h.max));
  }
  return h.max;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  min: number;
  /** Deliveries received before the writer saw its commit acknowledged (latency below 0). */
  negative: number;
}

export function summarize(h: Histogram): LatencySummary {
  return {
    count: h.count,
    p50: quantile(h, 0.5),
    p99: quantile(h, 0.99),
    max: h.count ? h.max : Number.NaN,
    min: h.count ? h.min : Number.NaN,
    negative: h.negative ?? 0,
  };
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile of plain samples. */
export function percentile(xs: number[], q: number): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

/** Rounds of latency: the median over rounds of each round's p50 and p99, the max over all. */
export function acrossRounds(rounds: LatencySummary[]): LatencySummary {
  if (rounds.length === 0) {
    return { count: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN, min: Number.NaN, negative: 0 };
  }
  return {
    count: rounds.reduce((s, r) => s + r.count, 0),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    max: Math.max(...rounds.map((r) => r.max)),
    min: Math.min(...rounds.map((r) => r.min)),
    negative: rounds.reduce((s, r) => s + r.negative, 0),
  };
}

/**
 * Process-wide event counters for /metrics (prom-client), incremented where the events happen:
 * GraphQL requests and errors, change-feed deliveries and their commit→socket-write latency,
 * version conflicts, idempotent replays, sign-in refusals. Gauges that read live state are per
 * app (src/ops/metrics.ts).
 *
 * Guarantees:
 * - Label values are bounded: operation names are counted under their own name for the first
 *   `MAX_OPERATION_NAMES` distinct names and as `other` after that, so a client inventing names
 *   cannot grow the registry without bound. Codes, models and reasons come from the server.
 * - Incrementing never throws and costs no I/O.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export const processRegistry = new Registry();
collectDefaultMetrics({ register: processRegistry, prefix: 'branchline_' });

export const MAX_OPERATION_NAMES = 200;
const seenOperations = new Set<string>();

/** The label for a client-chosen operation name: itself, `anonymous`, or `other` past the cap. */
export function operationLabel(name: string | null | undefined): string {
  if (!name) return 'anonymous';
  if (seenOperations.has(name)) return name;
  if (seenOperations.size >= MAX_OPERATION_NAMES || name.length > 100) return 'other';
  seenOperations.add(name);
  return name;
}

export const graphqlRequests = new Counter({
  name: 'branchline_graphql_requests_total',
  help: 'GraphQL operations executed (queries, mutations; subscriptions when they start), by operation name, type and outcome (ok, error)',
  labelNames: ['operation', 'type', 'outcome'] as const,
  registers: [processRegistry],
});

export const graphqlErrors = new Counter({
  name: 'branchline_graphql_errors_total',
  help: 'GraphQL errors in results, by extensions.code (INTERNAL when none)',
  labelNames: ['code'] as const,
  registers: [processRegistry],
});

export const feedDeliveries = new Counter({
  name: 'branchline_feed_deliveries_total',
  help: 'Change-feed events written to subscribers (rate() gives deliveries per second)',
  registers: [processRegistry],
});

export const feedDeliveryLatency = new Histogram({
  name: 'branchline_feed_delivery_latency_seconds',
  help: 'Commit (change_log.created_at) to socket write, per live event and subscription group or ungrouped subscriber',
  buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [processRegistry],
});

export const versionConflicts = new Counter({
  name: 'branchline_version_conflicts_total',
  help: 'Edits refused with VersionConflict (nothing written), by model (updateProduct: Product, ...)',
  labelNames: ['model'] as const,
  registers: [processRegistry],
});

export const idempotentReplays = new Counter({
  name: 'branchline_idempotent_replays_total',
  help: 'Mutations answered from their stored first result (same idempotencyKey), by mutation',
  labelNames: ['mutation'] as const,
  registers: [processRegistry],
});

export const loginRefusals = new Counter({
  name: 'branchline_login_refusals_total',
  help: 'Sign-ins refused by the throttle before any password check, by reason (throttled, busy)',
  labelNames: ['reason'] as const,
  registers: [processRegistry],
});

/** Conflicts counted since midnight (server time) in this process, for the sync status page. */
let conflictsDay = '';
let conflictsToday = 0;

export function countConflict(model: string): void {
  versionConflicts.inc({ model });
  const day = new Date().toDateString();
  if (day !== conflictsDay) {
    conflictsDay = day;
    conflictsToday = 0;
  }
  conflictsToday++;
}

export function conflictsSinceMidnight(): number {
  return new Date().toDateString() === conflictsDay ? conflictsToday : 0;
}

/**
 * A live change event written to `subscribers` sockets now; `event` is a change row (its `at` is
 * the commit's change_log.created_at) or anything else (a dashboard), which is only counted.
 */
export function countDelivery(event: unknown, subscribers: number): void {
  if (subscribers <= 0) return;
  feedDeliveries.inc(subscribers);
  const at = (event as { at?: unknown } | null)?.at;
  if (at instanceof Date) feedDeliveryLatency.observe(Math.max(0, (Date.now() - at.getTime()) / 1000));
}

/**
 * /metrics for one app: prom-client gauges read from live state at scrape time (connections,
 * subscriptions, pools, the feed's lag and held-back rows, the listener, backups), merged with
 * the process-wide event counters (src/ops/counters.ts), plus the Yoga plugin that counts GraphQL
 * requests by operation and outcome and errors by code.
 *
 * Guarantees:
 * - A scrape costs one bounded query (index range scans with LIMIT on change_log, plus
 *   pg_stat_activity) and one optional query of backup_runs; nothing is computed on the hot path.
 * - A figure that cannot be read (database down, no backup table) is left out of the scrape, never
 *   reported as 0 where 0 would mean "fine"; the lag figures then go absent too.
 *
 * Not guaranteed: exact lag under a flood (counted up to 100,000 changes).
 */
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type pg from 'pg';
import { Counter, Gauge, Registry } from 'prom-client';
import type { LoginGuard } from '../auth/login-guard.ts';
import type { Feed } from '../listeners/feed.ts';
import { graphqlErrors, graphqlRequests, operationLabel, processRegistry } from './counters.ts';
import { feedChecks } from './ready.ts';

/** Figures read from the database at scrape time (null: unknown). */
export interface DbFigures {
  lagChanges: number | null;
  lagSeconds: number | null;
  lastChangeAt: Date | null;
  heldRows: number | null;
  oldestTransactionSeconds: number | null;
  lastBackupAt: Date | null;
  lastBackupOk: boolean | null;
  lastBackupSizeBytes: number | null;
  lastSuccessfulBackupAt: Date | null;
}

const EMPTY: DbFigures = {
  lagChanges: null,
  lagSeconds: null,
  lastChangeAt: null,
  heldRows: null,
  oldestTransactionSeconds: null,
  lastBackupAt: null,
  lastBackupOk: null,
  lastBackupSizeBytes: null,
  lastSuccessfulBackupAt: null,
};

/** $1, $2: the reader's position (xid, id). */
const FEED_FIGURES_SQL = `
WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
SELECT
  (SELECT count(*) FROM (SELECT 1 FROM change_log c, h
      WHERE (c.xid, c.id) > ($1::xid8, $2::bigint) AND c.xid < h.xmin LIMIT 100000) x)::int AS lag_changes,
  (SELECT extract(epoch FROM clock_timestamp() - c.created_at) FROM change_log c, h
      WHERE (c.xid, c.id) > ($1::xid8, $2::bigint) AND c.xid < h.xmin ORDER BY c.xid, c.id LIMIT 1)::float8 AS lag_seconds,
  (SELECT c.created_at FROM change_log c, h WHERE c.xid < h.xmin ORDER BY c.xid DESC, c.id DESC LIMIT 1) AS last_change_at,
  (SELECT count(*) FROM (SELECT 1 FROM change_log c, h WHERE c.xid >= h.xmin LIMIT 100000) x)::int AS held_rows,
  (SELECT extract(epoch FROM clock_timestamp() - min(a.xact_start)) FROM pg_stat_activity a
      WHERE a.backend_xid IS NOT NULL)::float8 AS oldest_tx_seconds,
  to_regclass('backup_runs') IS NOT NULL AS has_backups`;

const BACKUP_SQL = `
SELECT (SELECT finished_at FROM backup_runs ORDER BY finished_at DESC LIMIT 1) AS last_at,
       (SELECT ok FROM backup_runs ORDER BY finished_at DESC LIMIT 1) AS last_ok,
       (SELECT size_bytes FROM backup_runs ORDER BY finished_at DESC LIMIT 1)::float8 AS last_size,
       (SELECT max(finished_at) FROM backup_runs WHERE ok) AS last_ok_at`;

/** Reads the database figures; every part that fails is left null. */
export async function readDbFigures(pool: pg.Pool, feed: Feed): Promise<DbFigures> {
  const pos = feed.reader.position;
  const figures = { ...EMPTY };
  try {
    const { rows } = await pool.query(FEED_FIGURES_SQL, [pos?.xid ?? '0', pos?.id ?? '0']);
    const r = rows[0];
    if (pos) {
      figures.lagChanges = r.lag_changes;
      figures.lagSeconds = r.lag_seconds === null ? 0 : Math.max(0, r.lag_seconds);
    }
    figures.lastChangeAt = r.last_change_at;
    figures.heldRows = r.held_rows;
    figures.oldestTransactionSeconds = r.oldest_tx_seconds === null ? 0 : r.oldest_tx_seconds;
    if (r.has_backups) {
      const b = (await pool.query(BACKUP_SQL)).rows[0];
      figures.lastBackupAt = b.last_at;
      figures.lastBackupOk = b.last_ok;
      figures.lastBackupSizeBytes = b.last_size;
      figures.lastSuccessfulBackupAt = b.last_ok_at;
    }
  } catch {
    // Left unknown: the scrape still reports what this process knows by itself.
  }
  return figures;
}

export interface MetricsSources {
  pool: pg.Pool;
  feed: Feed;
  loginGuard: LoginGuard;
  /** Open WebSockets and SSE responses of this app. */
  webSockets: () => number;
  sseStreams: () => number;
}

/** The app's registry (gauges over `sources`) merged with the process counters. */
export function createMetrics(sources: MetricsSources) {
  const registry = new Registry();
  const { feed, pool } = sources;
  let db: DbFigures = EMPTY;
  const gauge = (
    name: string,
    help: string,
    read: () => number | null | undefined,
    labelNames: string[] = [],
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        const v = read();
        if (v !== null && v !== undefined) this.set(v);
      },
    });
  const seconds = (d: Date | null) => (d ? Math.max(0, (Date.now() - d.getTime()) / 1000) : null);

  gauge('branchline_websocket_connections', 'Open WebSocket connections (graphql-ws)', sources.webSockets);
  gauge('branchline_sse_connections', 'Open Server-Sent Events responses', sources.sseStreams);
  gauge(
    'branchline_subscriptions_active',
    'Open client subscriptions (graphql-ws and SSE)',
    () => feed.active,
  );
  gauge(
    'branchline_subscription_groups',
    'graphql-ws subscription groups sharing one execution',
    () => feed.fanout?.size ?? 0,
  );
  gauge(
    'branchline_feed_lag_changes',
    'Committed changes (below the read horizon) this process has not delivered yet',
    () => db.lagChanges,
  );
  gauge(
    'branchline_feed_lag_seconds',
    'Age of the oldest committed change this process has not delivered yet (0: none)',
    () => db.lagSeconds,
  );
  gauge('branchline_feed_last_change_age_seconds', 'Age of the newest committed change in the log', () =>
    seconds(db.lastChangeAt),
  );
  gauge(
    'branchline_feed_held_back_rows',
    'Committed changes held back behind an older open transaction (not deliverable yet)',
    () => db.heldRows,
  );
  gauge(
    'branchline_oldest_transaction_seconds',
    'Age of the oldest open writing transaction on the PostgreSQL server',
    () => db.oldestTransactionSeconds,
  );
  gauge(
    'branchline_listener_connected',
    'Whether the change-feed listener is LISTENing (1) or not (0)',
    () => (feed.wakeup.status().connected ? 1 : 0),
  );
  gauge(
    'branchline_ready',
    'Whether the feed part of /ready holds (listener connected, reader caught up)',
    () => (feedChecks(feed).every((c) => c.ok) ? 1 : 0),
  );
  new Counter({
    name: 'branchline_listener_reconnects_total',
    help: 'Times the change-feed listener lost its connection (pg-listen reconnects plus rebuilds)',
    registers: [registry],
    collect() {
      const s = feed.wakeup.status();
      this.reset();
      this.inc(s.reconnects + s.rebuilds);
    },
  });
  const poolGauge = new Gauge({
    name: 'branchline_db_pool_connections',
    help: 'Database connections by pool (api, catchup) and state (total, idle, busy)',
    labelNames: ['pool', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.set({ pool: 'api', state: 'total' }, pool.totalCount);
      this.set({ pool: 'api', state: 'idle' }, pool.idleCount);
      this.set({ pool: 'api', state: 'busy' }, pool.totalCount - pool.idleCount);
      this.set({ pool: 'catchup', state: 'total' }, feed.catchUp.connections);
      this.set({ pool: 'catchup', state: 'busy' }, feed.catchUp.active);
    },
  });
  void poolGauge;
  new Gauge({
    name: 'branchline_db_pool_waiting',
    help: 'Queries waiting for a connection, by pool',
    labelNames: ['pool'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.set({ pool: 'api' }, pool.waitingCount);
      this.set({ pool: 'catchup' }, feed.catchUp.queued);
    },
  });
  new Gauge({
    name: 'branchline_login_password_checks',
    help: 'Sign-in password checks (scrypt) running and waiting for a slot',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const s = sources.loginGuard.stats();
      this.reset();
      this.set({ state: 'running' }, s.hashing);
      this.set({ state: 'waiting' }, s.waiting);
    },
  });
  gauge(
    'branchline_backup_age_seconds',
    'Age of the last successful backup recorded in backup_runs (absent: none)',
    () => seconds(db.lastSuccessfulBackupAt),
  );
  gauge(
    'branchline_backup_last_ok',
    'Whether the last recorded backup succeeded (absent: none recorded)',
    () => (db.lastBackupOk === null ? null : db.lastBackupOk ? 1 : 0),
  );

  const merged = Registry.merge([processRegistry, registry]);
  return {
    contentType: merged.contentType,
    /** The Prometheus text of this app and process. */
    async text(): Promise<string> {
      db = await readDbFigures(pool, feed);
      return merged.metrics();
    },
  };
}

/** Counts GraphQL operations by name, type and outcome, and the errors of HTTP results by code. */
export function useRequestMetrics(): Plugin {
  return {
    onExecute({ args }) {
      const op = getOperationAST(args.document, args.operationName);
      const operation = operationLabel(op?.name?.value ?? args.operationName);
      const type = op?.operation ?? 'unknown';
      return {
        onExecuteDone({ result }) {
          const errors =
            Symbol.asyncIterator in Object(result) ? undefined : (result as { errors?: unknown[] }).errors;
          graphqlRequests.inc({ operation, type, outcome: errors?.length ? 'error' : 'ok' });
        },
      };
    },
    onResultProcess({ result }) {
      if (Symbol.asyncIterator in Object(result)) return;
      for (const r of Array.isArray(result) ? result : [result]) {
        for (const e of (r as { errors?: readonly { extensions?: Record<string, unknown> }[] }).errors ??
          []) {
          const code = e.extensions?.code;
          graphqlErrors.inc({ code: typeof code === 'string' && code.length <= 40 ? code : 'INTERNAL' });
        }
      }
    },
  };
}

/**
 * A system under test and its subscribers: Branchline (server child process + graphql-ws
 * subscriber workers) or the raw baseline (pg LISTEN + bare ws broadcast + raw ws workers).
 *
 * A measurement is a phase: `begin()` clears what the workers recorded, the caller writes, and
 * `end()` waits until every subscriber has every change of the phase (bounded), then checks
 * each subscriber's sequence (Branchline: against change_log, in feed order; baseline: against
 * the writes that committed) and merges the latency histograms of the workers.
 */
import path from 'node:path';
import type { BenchDatabase } from './cluster.ts';
import { Child } from './ipc.ts';
import type { Seqs } from './load.ts';
import { emptyHistogram, type Histogram, merge, now, sleep } from './stats.ts';

export const PER_WORKER = 2500;

export const CHANGES_SUBSCRIPTION = `subscription Bench($after: String) {
  changes(after: $after, tables: ["products"]) { cursor table op rowId version data }
}`;

/**
 * The same subscription with a directive on its root field: src/listeners/fanout.ts does not
 * group such operations, so each subscriber gets its own execution (the straightforward design
 * the grouped fan-out replaces). Used only as a reference figure.
 */
export const UNGROUPED_SUBSCRIPTION = `subscription Bench($after: String) {
  changes(after: $after, tables: ["products"]) @include(if: true) { cursor table op rowId version data }
}`;

export interface PhaseReport {
  subscribers: number;
  /** CPU the subscriber workers used during the phase (all workers), µs. */
  clientCpuMicros: number;
  expected: number;
  hist: Histogram;
  deliveries: number;
  firstRecv: number;
  lastRecv: number;
  missing: number;
  duplicates: number;
  unexpected: number;
  outOfOrder: number;
  failedSubscribers: number;
  errors: string[];
}

interface Phase {
  cursor: string;
  fromSeq: number;
  committed: number[];
}

export type Kind = 'branchline' | 'baseline';

export class System {
  workers: Child[] = [];
  subscribers = 0;
  /** The subscription Branchline subscribers send. */
  query = CHANGES_SUBSCRIPTION;
  private phase: Phase | null = null;

  private constructor(
    readonly kind: Kind,
    readonly server: Child,
    readonly port: number,
    private readonly db: BenchDatabase,
  ) {}

  static async start(kind: Kind, db: BenchDatabase, nodeArgs: string[] = []): Promise<System> {
    const script = kind === 'branchline' ? 'procs/branchline-server.ts' : 'procs/baseline-server.ts';
    const { child, ready } = await Child.start<{ port: number }>(`${kind} server`, script, {
      env: { BENCH_DATABASE_URL: db.url },
      nodeArgs: ['--expose-gc', ...nodeArgs],
    });
    return new System(kind, child, ready.port, db);
  }

  get label(): string {
    return this.kind === 'branchline' ? 'Branchline (graphql-ws)' : 'baseline (pg NOTIFY + bare ws)';
  }

  get table(): string {
    return this.kind === 'branchline' ? 'products' : 'bench_products';
  }

  async status(): Promise<{ active: number; memory: NodeJS.MemoryUsage; cpu: NodeJS.CpuUsage }> {
    return this.server.request('status');
  }

  /** CPU time (user + system) the server process has used so far, in µs. */
  async cpuMicros(): Promise<number> {
    const { cpu } = await this.status();
    return cpu.user + cpu.system;
  }

  /** Opens `n` subscribers (in workers of PER_WORKER) and waits until the server has them all. */
  /** Resolves with the time the last subscription was sent (all connections acknowledged). */
  async connect(n: number, opts: { after?: string; timeoutMs?: number } = {}): Promise<number> {
    const timeoutMs = opts.timeoutMs ?? 180_000;
    const after = opts.after ?? (await this.db.currentCursor());
    const url =
      this.kind === 'branchline' ? `ws://127.0.0.1:${this.port}/graphql` : `ws://127.0.0.1:${this.port}`;
    const counts: number[] = [];
    for (let left = n; left > 0; left -= PER_WORKER) counts.push(Math.min(PER_WORKER, left));
    const started = await Promise.all(
      counts.map((_, i) => Child.start(`${this.kind} subscribers ${i + 1}`, 'procs/subscribers.ts')),
    );
    this.workers.push(...started.map((s) => s.child));
    const sent = await Promise.all(
      started.map(({ child }, i) =>
        child.request<{ at: number }>(
          'connect',
          {
            mode: this.kind === 'branchline' ? 'graphql' : 'raw',
            url,
            count: counts[i],
            token: this.db.token,
            query: this.query,
            variables: { after },
          },
          timeoutMs,
        ),
      ),
    );
    this.subscribers += n;
    const deadline = now() + timeoutMs;
    while ((await this.status()).active < this.subscribers) {
      if (now() > deadline) throw new Error(`${this.kind}: subscriptions did not all register`);
      await sleep(50);
    }
    return Math.max(...sent.map((s) => s.at));
  }

  /**
   * Runs `fn` under the Branchline server's CPU profiler when `dir` is set (a .cpuprofile named
   * `<name>` lands there); otherwise just runs it.
   */
  async profiled<T>(dir: string | null, name: string, fn: () => Promise<T>): Promise<T> {
    if (!dir || this.kind !== 'branchline') return fn();
    await this.server.request('profileStart');
    try {
      return await fn();
    } finally {
      const file = path.join(dir, `${name.replace(/[^\w.-]+/g, '_')}.cpuprofile`);
      await this.server.request('profileStop', { file });
    }
  }

  async disconnect(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
    this.workers = [];
    this.subscribers = 0;
    const deadline = now() + 30_000;
    while ((await this.status()).active > 0 && now() < deadline) await sleep(100);
  }

  /** Starts a phase; its expected changes are those after `cursor` (default: now). */
  async begin(seqs: Seqs, cursor?: string): Promise<void> {
    await Promise.all(this.workers.map((w) => w.request('reset')));
    this.phase = { cursor: cursor ?? (await this.db.currentCursor()), fromSeq: seqs.next, committed: [] };
  }

  /** Records a committed write of this phase (the baseline's expected sequence). */
  committed(seq: number): void {
    this.phase?.committed.push(seq);
  }

  /** Raw SQL: one transaction updating `seqs.length` rows, each tagged with its seq. */
  async writeRows(productIds: string[], seqList: number[]): Promise<void> {
    await this.db.pool.query(
      `UPDATE ${this.table} AS p SET description = v.d
         FROM unnest($1::uuid[], $2::text[]) AS v(id, d) WHERE p.id = v.id`,
      [productIds, seqList.map((s) => `b:${s}`)],
    );
  }

  /** Waits (bounded) until every subscriber has received at least `count` events this phase. */
  async waitForEach(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = now() + timeoutMs;
    for (;;) {
      const progress = await Promise.all(this.workers.map((w) => w.request<{ min: number }>('progress')));
      if (Math.min(...progress.map((p) => p.min)) >= count) return true;
      if (now() > deadline) return false;
      await sleep(20);
    }
  }

  async end(seqs: Seqs, timeoutMs = 60_000): Promise<PhaseReport> {
    const phase = this.phase;
    if (!phase) throw new Error('end() without begin()');
    this.phase = null;
    const expected =
      this.kind === 'branchline' ? await this.db.changeIdsAfter(phase.cursor, 'products') : phase.committed;
    const deadline = now() + timeoutMs;
    let lastTotal = -1;
    let stalledSince = now();
    for (;;) {
      const progress = await Promise.all(
        this.workers.map((w) => w.request<{ min: number; total: number }>('progress')),
      );
      const min = Math.min(...progress.map((p) => p.min));
      const total = progress.reduce((s, p) => s + p.total, 0);
      if (min >= expected.length || now() > deadline) break;
      if (total !== lastTotal) {
        lastTotal = total;
        stalledSince = now();
      } else if (now() - stalledSince > 10_000) {
        break;
      }
      await sleep(20);
    }
    const toSeq = seqs.next;
    const reports = await Promise.all(
      this.workers.map((w) =>
        w.request<PhaseReport & { errorCount: number }>('report', {
          commitTimes: seqs.slice(phase.fromSeq, toSeq),
          fromSeq: phase.fromSeq,
          toSeq,
          expected,
          ordered: this.kind === 'branchline',
        }),
      ),
    );
    const total: PhaseReport = {
      subscribers: 0,
      clientCpuMicros: 0,
      expected: expected.length,
      hist: emptyHistogram(),
      deliveries: 0,
      firstRecv: Number.POSITIVE_INFINITY,
      lastRecv: 0,
      missing: 0,
      duplicates: 0,
      unexpected: 0,
      outOfOrder: 0,
      failedSubscribers: 0,
      errors: [],
    };
    for (const r of reports) {
      total.subscribers += r.subscribers;
      total.clientCpuMicros += r.clientCpuMicros;
      merge(total.hist, r.hist);
      total.deliveries += r.deliveries;
      total.firstRecv = Math.min(total.firstRecv, r.firstRecv);
      total.lastRecv = Math.max(total.lastRecv, r.lastRecv);
      total.missing += r.missing;
      total.duplicates += r.duplicates;
      total.unexpected += r.unexpected;
      total.outOfOrder += r.outOfOrder;
      total.failedSubscribers += r.failedSubscribers;
      total.errors.push(...r.errors);
    }
    return total;
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
    this.workers = [];
    await this.server.stop();
  }
}

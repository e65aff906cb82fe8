/**
 * A subscriber worker: a few thousand WebSocket clients in one process, recording what each one
 * receives and when.
 *
 * - `graphql` mode: one graphql-ws client (with `ws` as its WebSocket) per subscriber, one
 *   `changes` subscription each. Identity of an event: its change_log id (from the cursor).
 * - `raw` mode: a bare `ws` client per subscriber, for the baseline; identity: the write's seq.
 * - Every write of a benchmark puts `b:<seq>` in the row's description, so the receipt time of
 *   each delivery maps to the commit time the writer recorded for that seq.
 * - `report` checks each subscriber's received sequence against the expected one (missing,
 *   duplicates, and out-of-order for graphql mode) and returns a latency histogram.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { serveParent } from '../lib/ipc.ts';
import { emptyHistogram, type Histogram, now, record, sleep } from '../lib/stats.ts';

interface Sub {
  ids: number[];
  seqs: number[];
  times: number[];
  close: () => void;
}

const subs: Sub[] = [];
let cpuAtReset = process.cpuUsage();
const errors: string[] = [];
let errorCount = 0;

function seqOf(description: unknown): number {
  return typeof description === 'string' && description.startsWith('b:') ? Number(description.slice(2)) : -1;
}

function fail(message: string) {
  errorCount++;
  if (errors.length < 5) errors.push(message);
}

function openGraphql(
  url: string,
  token: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<Sub> {
  const sub: Sub = { ids: [], seqs: [], times: [], close: () => {} };
  return new Promise((resolve, reject) => {
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      lazy: true,
      retryAttempts: 0,
      on: { connected: () => resolve(sub), closed: () => {} },
    });
    sub.close = () => void client.dispose();
    client.subscribe<{ changes: { cursor: string; data: { description?: string } | null } }>(
      { query, variables },
      {
        next: (msg) => {
          const t = now();
          const change = msg.data?.changes;
          if (!change) {
            fail(`event without data: ${JSON.stringify(msg).slice(0, 200)}`);
            return;
          }
          // <epoch>:<xid>:<id>[:<stamp>]
          sub.ids.push(Number(change.cursor.split(':')[2]));
          sub.seqs.push(seqOf(change.data?.description));
          sub.times.push(t);
        },
        error: (err) => {
          const text = Array.isArray(err)
            ? JSON.stringify(err)
            : err instanceof Error
              ? err.message
              : String(err);
          fail(`subscription error: ${text.slice(0, 300)}`);
          reject(new Error(text));
        },
        complete: () => {},
      },
    );
  });
}

function openRaw(url: string): Promise<Sub> {
  const sub: Sub = { ids: [], seqs: [], times: [], close: () => {} };
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    sub.close = () => ws.terminate();
    ws.on('open', () => resolve(sub));
    ws.on('error', (err) => {
      fail(`socket error: ${err.message}`);
      reject(err);
    });
    ws.on('message', (data) => {
      const t = now();
      const seq = seqOf((JSON.parse(data.toString()) as { description?: string }).description);
      sub.ids.push(seq);
      sub.seqs.push(seq);
      sub.times.push(t);
    });
  });
}

async function connect(msg: Record<string, unknown>) {
  const count = msg.count as number;
  const open = () =>
    msg.mode === 'raw'
      ? openRaw(msg.url as string)
      : openGraphql(
          msg.url as string,
          msg.token as string,
          msg.query as string,
          (msg.variables as Record<string, unknown>) ?? {},
        );
  // Bounded concurrency: thousands of simultaneous handshakes overflow the listen backlog.
  let started = 0;
  const lane = async () => {
    while (started < count) {
      started++;
      subs.push(await open());
    }
  };
  await Promise.all(Array.from({ length: Math.min(100, count) }, lane));
  // Every connection is acknowledged and its subscribe message sent by now.
  return { connected: subs.length, at: now() };
}

function progress() {
  let min = Number.POSITIVE_INFINITY;
  let total = 0;
  let lastRecv = 0;
  for (const s of subs) {
    min = Math.min(min, s.ids.length);
    total += s.ids.length;
    const t = s.times[s.times.length - 1];
    if (t !== undefined && t > lastRecv) lastRecv = t;
  }
  return { min: subs.length ? min : 0, total, lastRecv, errorCount, errors };
}

interface ReportRequest {
  /** Commit time of seq `fromSeq + i` at index i (0 = unknown). */
  commitTimes: Float64Array;
  /** Latency is sampled for seqs in [fromSeq, toSeq). */
  fromSeq: number;
  toSeq: number;
  /** The identities every subscriber must receive, each once (in this order when `ordered`). */
  expected: number[];
  ordered: boolean;
}

function report(msg: Record<string, unknown>) {
  const { commitTimes, fromSeq, toSeq, expected, ordered } = msg as unknown as ReportRequest;
  const index = new Map<number, number>();
  for (const [i, id] of expected.entries()) index.set(id, i);
  const hist: Histogram = emptyHistogram();
  let missing = 0;
  let duplicates = 0;
  let unexpected = 0;
  let outOfOrder = 0;
  let failed = 0;
  let firstRecv = Number.POSITIVE_INFINITY;
  let lastRecv = 0;
  let deliveries = 0;
  for (const s of subs) {
    const seen = new Uint8Array(expected.length);
    let unique = 0;
    let last = -1;
    let bad = 0;
    for (let j = 0; j < s.ids.length; j++) {
      const i = index.get(s.ids[j] as number);
      if (i === undefined) {
        unexpected++;
        bad++;
      } else if (seen[i]) {
        duplicates++;
        bad++;
      } else {
        seen[i] = 1;
        unique++;
        if (ordered && i < last) {
          outOfOrder++;
          bad++;
        }
        last = i;
      }
      const seq = s.seqs[j] as number;
      const t = s.times[j] as number;
      if (seq >= fromSeq && seq < toSeq) {
        const c = commitTimes[seq - fromSeq] ?? 0;
        if (c > 0) record(hist, t - c);
      }
      deliveries++;
      if (t < firstRecv) firstRecv = t;
      if (t > lastRecv) lastRecv = t;
    }
    missing += expected.length - unique;
    if (bad > 0 || unique < expected.length) failed++;
  }
  const cpu = process.cpuUsage(cpuAtReset);
  return {
    subscribers: subs.length,
    clientCpuMicros: cpu.user + cpu.system,
    hist,
    deliveries,
    firstRecv,
    lastRecv,
    missing,
    duplicates,
    unexpected,
    outOfOrder,
    failedSubscribers: failed,
    errorCount,
    errors,
  };
}

serveParent(
  {
    connect,
    progress,
    report,
    reset: () => {
      cpuAtReset = process.cpuUsage();
      for (const s of subs) {
        s.ids = [];
        s.seqs = [];
        s.times = [];
      }
      return { ok: true };
    },
    close: async () => {
      for (const s of subs.splice(0)) s.close();
      await sleep(100);
      return { ok: true };
    },
  },
  { pid: process.pid },
  async () => {
    for (const s of subs.splice(0)) s.close();
  },
);

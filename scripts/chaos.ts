/**
 * `npm run chaos -- --minutes N [--servers 2] [--writers 8] [--changes 5000]`: the chaos workload
 * of tests/feed.chaos.test.ts for as long as asked, on a PostgreSQL of its own (temporary folder,
 * removed afterwards) and `--servers` servers (in this process) that subscribers resume on at
 * random. The run is a series of cycles; each cycle writes at least `--changes` changes through
 * all the faults (backends of the listener, the reader and the catch-up pool terminated; a
 * pruning burst with laggards catching up; a burst with paused subscribers; a crash; a crash with
 * an earlier copy of the data restored; a server restarted) and checks every subscriber change by
 * change against the log (tests/helpers/chaos-check.ts). Prints one line per cycle and one summary
 * line; exits 1 when any cycle was not exact.
 */
import { type App, buildApp } from '../src/app.ts';
import { encodeCursor, SNAPSHOT_POSITION_SQL } from '../src/listeners/cursor.ts';
import { createLogger } from '../src/logger.ts';
import {
  type ChaosControl,
  type ChaosResult,
  exact,
  runChaos,
  type SubscriberSpec,
} from '../tests/helpers/chaos.ts';
import { startChaosCluster } from '../tests/helpers/chaos-cluster.ts';
import { tokenFor } from '../tests/helpers/feed.ts';

function flag(name: string, fallback: number): number {
  const argv = process.argv.slice(2);
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  const value = argv[i]?.includes('=') ? argv[i]?.split('=')[1] : argv[i + 1];
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
  return n;
}

const minutes = flag('minutes', 5);
const serverCount = Math.round(flag('servers', 2));
const writers = Math.round(flag('writers', 8));
const changes = Math.round(flag('changes', 5000));
const log = createLogger(process.env.CHAOS_LOG_LEVEL ?? 'silent');
const began = Date.now();
const elapsed = () => `${((Date.now() - began) / 60_000).toFixed(1)} min`;

const cluster = await startChaosCluster(log);
const { default: pg } = await import('pg');
const pool = new pg.Pool({ connectionString: cluster.url, max: 2 });
pool.on('error', () => {});
const token = await tokenFor(pool, 'admin@example.com');

const startServer = async (): Promise<{ app: App; url: string }> => {
  const app = buildApp({
    databaseUrl: cluster.url,
    log,
    poolSize: 8,
    feed: { pollMs: 1000, heartbeatMs: 500, maxQueue: 300, maxBufferedBytes: 64 * 1024 },
    shares: { wsConnectionsPerUser: 10_000, wsConnectionsPerAddress: 10_000 },
  });
  const { url } = await app.start(0, '127.0.0.1');
  await app.services.feed.ready();
  return { app, url };
};
const servers = await Promise.all(Array.from({ length: serverCount }, startServer));
const anyServer = () => (servers[Math.floor(Math.random() * servers.length)] as { url: string }).url;

const subscribers: SubscriberSpec[] = [
  { transport: 'ws', url: anyServer },
  { transport: 'sse', url: anyServer },
  { transport: 'ws', url: anyServer, start: 'live' },
  { transport: 'sse', url: anyServer, start: 'live' },
  { transport: 'ws', url: anyServer, pausable: 'alternate' },
  { transport: 'sse', url: anyServer, pausable: 'alternate' },
  { transport: 'ws', url: anyServer, laggard: true },
  { transport: 'sse', url: anyServer, laggard: true },
];

const crash = async (c: ChaosControl) => {
  await cluster.crash();
  await cluster.snapshot('earlier');
  await cluster.start();
  c.count('crashes');
};
const restore = async (c: ChaosControl) => {
  await c.pauseWriters();
  await cluster.crash();
  await cluster.start();
  await c.historyEnds();
  await cluster.crash();
  await cluster.restore('earlier');
  await cluster.start();
  c.count('restores');
  c.resumeWriters();
};
const restartServer = async (c: ChaosControl) => {
  const i = Math.floor(Math.random() * servers.length);
  const old = servers[i] as { app: App };
  servers[i] = await startServer();
  await old.app.stop();
  c.count('server restarts');
};

const totals: Record<string, number> = {};
let cycles = 0;
let failed = 0;
let firstProblem: string | null = null;
const add = (what: string, n: number) => {
  totals[what] = (totals[what] ?? 0) + n;
};

try {
  while (Date.now() - began < minutes * 60_000) {
    cycles++;
    const { rows } = await pool.query(SNAPSHOT_POSITION_SQL);
    const result: ChaosResult = await runChaos({
      databaseUrl: cluster.url,
      token,
      startCursor: encodeCursor(rows[0]),
      writers,
      targetChanges: changes,
      apiUrl: anyServer,
      faults: ['listener', 'reader', 'catchup'],
      killEveryMs: [150, 300],
      writerSleepMs: [50, 250],
      subscribers,
      events: [
        { at: 0.1, run: (c) => c.burst({ prune: true }) },
        { afterMs: 500, run: (c) => c.burst({ pause: true }) },
        { afterMs: 1000, run: crash },
        { afterMs: 1500, run: restartServer },
        { afterMs: 1000, run: restore },
        { afterMs: 1500, run: async () => {} },
      ],
      timeoutMs: 60_000,
    });
    const checks = result.subscribers.map((s) => s.check);
    const bad = checks.filter((c) => !exact(c));
    if (bad.length) {
      failed++;
      firstProblem ??= bad[0]?.firstProblem ?? 'not exact';
      // Everything the check saw, for a look afterwards (CHAOS_DUMP=<folder>).
      if (process.env.CHAOS_DUMP) {
        const { writeFile } = await import('node:fs/promises');
        const file = `${process.env.CHAOS_DUMP}/chaos-cycle-${cycles}.json`;
        await writeFile(
          file,
          JSON.stringify({
            histories: result.histories.map((h) => ({
              ...h,
              index: undefined,
              positions: undefined,
              pruned: [...h.pruned],
            })),
            subscribers: result.subscribers.map((x) => ({
              spec: { ...x.spec, url: undefined },
              check: x.check,
              log: x.log,
            })),
          }),
        );
        process.stdout.write(`  (written to ${file})\n`);
      }
    }
    add('changes', result.committed.length);
    add(
      'sessions',
      checks.reduce((n, c) => n + c.sessions, 0),
    );
    add(
      'delivered',
      checks.reduce((n, c) => n + c.delivered, 0),
    );
    for (const k of ['missing', 'duplicates', 'unexpected', 'differing', 'unjustifiedExpiries'] as const) {
      add(
        k,
        checks.reduce((n, c) => n + c[k], 0),
      );
    }
    add('incomplete', checks.filter((c) => !c.complete).length);
    for (const [k, v] of Object.entries(result.counts)) add(k, v);
    process.stdout.write(
      `cycle ${cycles} (${elapsed()}): ${result.committed.length} changes, ${checks.reduce((n, c) => n + c.delivered, 0)} deliveries, ` +
        `${bad.length ? `NOT EXACT (${bad.length} subscribers): ${bad[0]?.firstProblem}` : 'exact'}\n`,
    );
  }
} finally {
  for (const s of servers) await s.app.stop().catch(() => {});
  await pool.end().catch(() => {});
  await cluster.remove();
}

const n = (k: string) => (totals[k] ?? 0).toLocaleString('en-US');
process.stdout.write(
  `chaos: ${elapsed()}, ${cycles} cycles, ${n('changes')} changes, ${subscribers.length} subscribers on ${serverCount} servers, ` +
    `${n('sessions')} sessions, ${n('delivered')} deliveries; missing ${n('missing')}, duplicates ${n('duplicates')}, ` +
    `sessions differing from the log ${n('differing')}, unexpected ${n('unexpected')}, unjustified CURSOR_EXPIRED ${n('unjustifiedExpiries')}, ` +
    `incomplete ${n('incomplete')}; CURSOR_EXPIRED ${n('ended CURSOR_EXPIRED')}, SUBSCRIBER_TOO_SLOW ${n('ended SUBSCRIBER_TOO_SLOW')}, ` +
    `killed listener ${n('killed listener')} / reader ${n('killed reader')} / catch-up ${n('killed catchup')}, ` +
    `bursts ${n('bursts')}, prunes ${n('prunes')}, crashes ${n('crashes')}, restores ${n('restores')}, ` +
    `server restarts ${n('server restarts')}: ${failed ? `FAIL (${failed} cycles; first: ${firstProblem})` : 'PASS'}\n`,
);
process.exit(failed ? 1 : 0);

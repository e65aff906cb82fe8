/**
 * `npm run bench [-- <part> ...] [--quick] [--rounds=N] [--sizes=100,1000] [--round-ms=N] [--profile]`
 *
 * `--profile` writes a CPU profile of the Branchline server for the first measured round of each
 * figure to bench/results/profiles/ (`--cpu-prof`: of the server's whole life instead).
 *
 * Parts: latency, fanout, write, catchup, memory, import, scale (default: all). Every run starts its own
 * embedded PostgreSQL in a temporary directory, runs the servers and subscribers in child
 * processes on 127.0.0.1, stops by itself (a watchdog ends a run that overstays), prints each
 * figure with its workload, writes bench/results/<date>.{json,md}, and exits non-zero when any
 * subscriber missed or repeated a change (or a part failed).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PG_SETTINGS, startBenchDatabase } from './lib/cluster.ts';
import { type BenchContext, FULL, QUICK, type Scale } from './lib/context.ts';
import { BENCH_DIR } from './lib/ipc.ts';
import { Seqs } from './lib/load.ts';
import { Results } from './lib/report.ts';
import { runCatchUp } from './parts/catchup.ts';
import { runFeed } from './parts/feed.ts';
import { runImportBench } from './parts/import.ts';
import { runMemory } from './parts/memory.ts';
import { runOffline } from './parts/offline.ts';
import { runScale } from './parts/scale.ts';
import { runWrites } from './parts/write.ts';

const PARTS = ['latency', 'fanout', 'write', 'catchup', 'memory', 'import', 'scale'] as const;
/** Parts run only when named: offline needs Chromium (npm run bench -- offline). */
const NAMED_ONLY = ['offline'] as const;
type Part = (typeof PARTS)[number] | (typeof NAMED_ONLY)[number];

function parseArgs(argv: string[]) {
  const parts = new Set<Part>();
  const flags = new Map<string, string>();
  for (const a of argv) {
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=');
      flags.set(k as string, v ?? 'true');
    } else if (a === 'all') {
      for (const p of PARTS) parts.add(p);
    } else if ([...PARTS, ...NAMED_ONLY].includes(a as Part)) {
      parts.add(a as Part);
    } else {
      throw new Error(`unknown part "${a}"; parts: ${[...PARTS, ...NAMED_ONLY].join(', ')}, all`);
    }
  }
  if (parts.size === 0) for (const p of PARTS) parts.add(p);
  const scale: Scale = { ...(flags.has('quick') ? QUICK : FULL) };
  const list = (v: string) => v.split(',').map(Number);
  if (flags.has('rounds')) scale.rounds = Number(flags.get('rounds'));
  if (flags.has('round-ms')) scale.roundMs = Number(flags.get('round-ms'));
  if (flags.has('sizes')) scale.sizes = list(flags.get('sizes') as string);
  if (flags.has('rates')) scale.moderateRates = list(flags.get('rates') as string);
  if (flags.has('idle')) scale.idleSizes = list(flags.get('idle') as string);
  if (flags.has('catchup-changes')) scale.catchUpChanges = Number(flags.get('catchup-changes'));
  if (flags.has('import-products')) scale.importProducts = Number(flags.get('import-products'));
  const timeoutMin = Number(flags.get('timeout-min') ?? (flags.has('quick') ? 3 : 45));
  return { parts, scale, cpuProf: flags.has('cpu-prof'), profile: flags.has('profile'), timeoutMin };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const { parts, scale, cpuProf, profile, timeoutMin } = parseArgs(argv);
  const command = `npm run bench --${argv.length ? ` ${argv.join(' ')}` : ''}`;
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: still running after ${timeoutMin} min; giving up\n`);
    process.exit(3);
  }, timeoutMin * 60_000);
  watchdog.unref();

  const started = Date.now();
  const progress = (m: string) =>
    process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(0)}s] ${m}\n`);
  const serverNodeArgs: string[] = [];
  const profileDir = cpuProf || profile ? path.join(BENCH_DIR, 'results', 'profiles') : null;
  if (profileDir) await mkdir(profileDir, { recursive: true });
  if (cpuProf) serverNodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  progress('starting embedded PostgreSQL (private, temporary)');
  const db = await startBenchDatabase();
  const stopDb = () => void db.stop().finally(() => process.exit(130));
  process.once('SIGINT', stopDb);
  process.once('SIGTERM', stopDb);
  const results = new Results();
  const ctx: BenchContext = {
    db,
    results,
    seqs: new Seqs(),
    scale,
    serverNodeArgs,
    profileDir: profile ? profileDir : null,
    progress,
  };
  // A part that fails is reported and the others still run; the exit code says so.
  const failures: string[] = [];
  const attempt = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      failures.push(name);
      process.stderr.write(`bench: ${name} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    }
  };
  try {
    if (parts.has('latency') || parts.has('fanout')) {
      await attempt('latency/fanout', () =>
        runFeed(ctx, { latency: parts.has('latency'), fanout: parts.has('fanout') }),
      );
    }
    if (parts.has('write')) await attempt('write', () => runWrites(ctx));
    if (parts.has('catchup')) await attempt('catchup', () => runCatchUp(ctx));
    if (parts.has('memory')) await attempt('memory', () => runMemory(ctx));
    if (parts.has('import')) await attempt('import', () => runImportBench(ctx));
    if (parts.has('offline')) await attempt('offline', () => runOffline(ctx));
    if (parts.has('scale')) await attempt('scale', () => runScale(ctx));
  } finally {
    await db.stop().catch(() => {});
  }
  const file = await results.save(command, PG_SETTINGS);
  process.stdout.write(`\n${results.markdown(command, PG_SETTINGS)}\nResults: ${file}\n`);
  const failed = results.failed;
  if (failed.length) process.stdout.write(`\n${failed.length} correctness check(s) FAILED\n`);
  if (failures.length) process.stdout.write(`\nParts that did not finish: ${failures.join(', ')}\n`);
  return failures.length || failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);

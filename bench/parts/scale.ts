/**
 * Scale (`npm run bench -- scale`): the same fan-out with 1, 2 and 3 Branchline server processes
 * on one database, the subscribers spread evenly over them (as a load balancer would). Each round
 * is a burst of raw-SQL writes; every subscriber of every process is checked change by change
 * against the log. Reported per process count: deliveries per second (all processes together)
 * and p99 commit → receive latency, with the ratio to one process.
 *
 * On a machine with fewer cores than processes plus subscriber workers, the ratios measure the
 * machine as much as the design: read them next to the core count printed with the results.
 */
import { cpus } from 'node:os';
import type { BenchContext } from '../lib/context.ts';
import { emptyHistogram, median, merge, now, summarize } from '../lib/stats.ts';
import { System } from '../lib/systems.ts';

const WRITERS = 4;
const BATCH = 8;
const PROCESSES = [1, 2, 3];

interface Round {
  deliveriesPerSec: number;
  p99: number;
}

/** One burst through `systems` (all on the same table); every subscriber checked. */
async function burst(ctx: BenchContext, systems: System[], changes: number, label: string): Promise<Round> {
  const ids = ctx.db.productIds;
  await Promise.all(systems.map((s) => s.begin(ctx.seqs)));
  const writer = systems[0] as System;
  const t0 = now();
  let left = changes;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      const own = ids.slice(w * 16, w * 16 + 16);
      for (let i = 0; left > 0; i++) {
        const count = Math.min(BATCH, left);
        left -= count;
        const rows = own.slice((i % 2) * BATCH, (i % 2) * BATCH + count);
        const seqList = rows.map(() => ctx.seqs.take());
        await writer.writeRows(rows, seqList);
        const t = now();
        for (const s of seqList) ctx.seqs.committed(s, t);
      }
    }),
  );
  const reports = await Promise.all(systems.map((s) => s.end(ctx.seqs, 120_000)));
  const hist = emptyHistogram();
  let deliveries = 0;
  let last = t0;
  reports.forEach((r, i) => {
    ctx.results.check('scale', `${label} process ${i + 1}`, `burst of ${changes}`, r);
    merge(hist, r.hist);
    deliveries += r.deliveries;
    last = Math.max(last, r.lastRecv);
  });
  const seconds = (last - t0) / 1000;
  return { deliveriesPerSec: deliveries / seconds, p99: summarize(hist).p99 };
}

export async function runScale(ctx: BenchContext): Promise<void> {
  const quick = ctx.scale.rounds <= 1;
  const subscribers = quick ? 300 : 600;
  const changes = quick ? 200 : 500;
  const byCount = new Map<number, Round[]>();
  for (const k of PROCESSES) {
    ctx.progress(`scale: ${k} process(es), ${subscribers} subscribers spread evenly`);
    const systems = await Promise.all(
      Array.from({ length: k }, () => System.start('branchline', ctx.db, ctx.serverNodeArgs)),
    );
    try {
      for (const s of systems) await s.connect(subscribers / k);
      const rounds: Round[] = [];
      // One unreported burst first (JIT, pools), then the measured rounds.
      await burst(ctx, systems, Math.min(100, changes), `${k} processes (warm-up)`);
      for (let round = 0; round < ctx.scale.rounds; round++) {
        const r = await burst(ctx, systems, changes, `${k} processes`);
        ctx.progress(
          `  ${k} process(es): ${r.deliveriesPerSec.toFixed(0)} deliveries/s, p99 ${r.p99.toFixed(1)} ms`,
        );
        rounds.push(r);
      }
      byCount.set(k, rounds);
    } finally {
      await Promise.all(systems.map((s) => s.disconnect().catch(() => {})));
      await Promise.all(systems.map((s) => s.stop().catch(() => {})));
    }
  }
  const one = byCount.get(1) ?? [];
  const rate1 = median(one.map((r) => r.deliveriesPerSec));
  const p99of1 = median(one.map((r) => r.p99));
  ctx.results.add({
    part: 'scale',
    workload:
      `${subscribers} graphql-ws subscribers spread over 1, 2 and 3 server processes on one database; ` +
      `bursts of ${changes} raw-SQL changes (${WRITERS} writers); median of ${ctx.scale.rounds} round(s); ` +
      `"baseline" is one process; ${cpus().length} CPU cores on this machine`,
    figures: PROCESSES.flatMap((k) => {
      const rounds = byCount.get(k) ?? [];
      const rate = median(rounds.map((r) => r.deliveriesPerSec));
      const p99 = median(rounds.map((r) => r.p99));
      return [
        {
          metric: `deliveries/s, ${k} process(es)`,
          unit: '/s',
          branchline: rate,
          baseline: rate1,
          ratio: rate / rate1,
        },
        {
          metric: `p99 commit → receive (a burst draining), ${k} process(es)`,
          unit: 'ms',
          branchline: p99,
          baseline: p99of1,
          ratio: p99 / p99of1,
        },
      ];
    }),
  });
}

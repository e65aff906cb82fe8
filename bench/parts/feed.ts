/**
 * Parts 1 and 2: propagation latency and fan-out throughput, Branchline next to the raw baseline
 * with the same number of subscribers connected to each (both connected for the whole size, the
 * two systems' rounds interleaved so that noise of the shared machine hits both alike).
 *
 * - Fan-out at saturation: a burst of changes written as fast as raw SQL goes (4 connections,
 *   8 rows per transaction) to `products` (Branchline: change-log trigger) or `bench_products`
 *   (baseline: NOTIFY trigger); deliveries/s = deliveries / (last receipt - first write). The
 *   burst is sized to about 50,000 deliveries per second of round, so each round is bounded.
 * - Latency: the same raw SQL UPDATE paced at a fixed rate for both systems (one row per
 *   transaction, `products` or `bench_products`), from the commit acknowledged to the writer to
 *   the event received by a subscriber, over every delivery; a delivery that beat the writer's
 *   acknowledgement counts with its negative latency (never clamped). Rates: the moderate ones,
 *   then 70 % of the saturation change rate of that system. Targets (issue 11): p99 at most
 *   1.15× the bare-ws p99 of the same run at N=1,000 / 20 changes/s and N=100 / 200 changes/s.
 */
import type { BenchContext } from '../lib/context.ts';
import { paced } from '../lib/load.ts';
import { acrossRounds, type LatencySummary, median, now, summarize } from '../lib/stats.ts';
import { type Kind, PER_WORKER, type PhaseReport, System, UNGROUPED_SUBSCRIPTION } from '../lib/systems.ts';
import { feedWriter } from '../lib/writers.ts';

const BATCH = 8;
const WRITERS = 4;

interface Saturation {
  deliveriesPerSec: number[];
  changesPerSec: number[];
  /** Server CPU (user + system) per delivery, µs: robust to a noisy machine. */
  cpuPerDelivery: number[];
  burst: number;
}

async function checked(ctx: BenchContext, part: string, sys: System, phase: string): Promise<PhaseReport> {
  const r = await sys.end(ctx.seqs, 120_000);
  ctx.results.check(part, sys.kind, phase, r);
  return r;
}

/** One burst of `burst` changes written as fast as raw SQL goes; returns the rates it reached. */
async function burstRound(
  ctx: BenchContext,
  sys: System,
  burst: number,
  n: number,
  label: string = sys.kind,
) {
  const ids = ctx.db.productIds; // bench_products is a copy of products: same ids
  await sys.begin(ctx.seqs);
  const cpu0 = await sys.cpuMicros();
  const t0 = now();
  let left = burst;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      const own = ids.slice(w * 16, w * 16 + 16);
      for (let i = 0; left > 0; i++) {
        const count = Math.min(BATCH, left);
        left -= count;
        const rows = own.slice((i % 2) * BATCH, (i % 2) * BATCH + count);
        const seqList = rows.map(() => ctx.seqs.take());
        await sys.writeRows(rows, seqList);
        const t = now();
        for (const s of seqList) {
          ctx.seqs.committed(s, t);
          sys.committed(s);
        }
      }
    }),
  );
  const r = await sys.end(ctx.seqs, 120_000);
  ctx.results.check('fan-out', label, `N=${n} burst of ${burst}`, r);
  const cpu = (await sys.cpuMicros()) - cpu0;
  const seconds = (r.lastRecv - t0) / 1000;
  ctx.progress(
    `  ${label}: ${(r.deliveries / seconds).toFixed(0)} deliveries/s; server CPU ${(cpu / 1e6 / seconds).toFixed(2)} ` +
      `cores, subscriber workers ${(r.clientCpuMicros / 1e6 / seconds).toFixed(2)} cores over ${seconds.toFixed(1)} s`,
  );
  return {
    deliveriesPerSec: r.deliveries / seconds,
    changesPerSec: r.expected / seconds,
    cpuPerDelivery: cpu / Math.max(1, r.deliveries),
  };
}

async function saturation(ctx: BenchContext, systems: System[], n: number): Promise<Map<Kind, Saturation>> {
  const burst = Math.max(20, Math.min(4000, Math.round((50_000 * ctx.scale.roundMs) / 1000 / n)));
  const out = new Map<Kind, Saturation>();
  for (const s of systems)
    out.set(s.kind, { deliveriesPerSec: [], changesPerSec: [], cpuPerDelivery: [], burst });
  for (let round = 0; round < ctx.scale.rounds; round++) {
    for (const s of round % 2 ? [...systems].reverse() : systems) {
      ctx.progress(`fan-out N=${n} ${s.kind} round ${round + 1}: burst of ${burst}`);
      const dir = round === 0 ? ctx.profileDir : null;
      const r = await s.profiled(dir, `fanout-N${n}`, () => burstRound(ctx, s, burst, n));
      out.get(s.kind)?.deliveriesPerSec.push(r.deliveriesPerSec);
      out.get(s.kind)?.changesPerSec.push(r.changesPerSec);
      out.get(s.kind)?.cpuPerDelivery.push(r.cpuPerDelivery);
    }
  }
  return out;
}

/**
 * Paced rounds per system. A rate over twice the system's saturation change rate is not run: its
 * latency would only measure how long the round is (the backlog grows throughout); between one
 * and two times it runs, and the workload line says so.
 */
async function latencyRounds(
  ctx: BenchContext,
  systems: System[],
  n: number,
  rates: Map<Kind, number>,
  saturated: Map<Kind, number>,
) {
  const out = new Map<Kind, { rounds: LatencySummary[]; achieved: number[] }>();
  for (const s of systems) out.set(s.kind, { rounds: [], achieved: [] });
  for (let round = 0; round < ctx.scale.rounds; round++) {
    for (const s of round % 2 ? [...systems].reverse() : systems) {
      const rate = rates.get(s.kind) ?? 1;
      if (rate > 2 * (saturated.get(s.kind) ?? Number.POSITIVE_INFINITY)) continue;
      ctx.progress(`latency N=${n} ${s.kind} round ${round + 1}: ${rate.toFixed(0)} changes/s`);
      const writer = await feedWriter(s, ctx.db, ctx.seqs);
      await s.begin(ctx.seqs);
      const t0 = now();
      const dir = round === 0 ? ctx.profileDir : null;
      const w = await s.profiled(dir, `latency-N${n}-${rate.toFixed(0)}per-s`, () =>
        paced(rate, ctx.scale.roundMs, 32, () => writer.write()),
      );
      const elapsed = (now() - t0) / 1000;
      writer.close();
      if (w.failed) ctx.progress(`  ${w.failed} writes failed: ${w.errors.join(' | ')}`);
      const r = await checked(ctx, 'latency', s, `N=${n} ${rate.toFixed(0)}/s round ${round + 1}`);
      out.get(s.kind)?.rounds.push(summarize(r.hist));
      out.get(s.kind)?.achieved.push((w.issued - w.failed) / elapsed);
    }
  }
  return out;
}

/** A few paced writes through each system's write path, checked but not reported (JIT, pools). */
async function warmUp(ctx: BenchContext, sys: System, n: number): Promise<void> {
  ctx.progress(`warm-up N=${n} ${sys.kind}`);
  const writer = await feedWriter(sys, ctx.db, ctx.seqs);
  await sys.begin(ctx.seqs);
  await paced(50, 1000, 8, () => writer.write());
  writer.close();
  await checked(ctx, 'warm-up', sys, `N=${n}`);
}

/** Subscriber count at which the ungrouped reference is measured. */
const UNGROUPED_AT = 1000;

/**
 * Reference: the same bursts to subscriptions that are not grouped (one execution and one
 * serialization per subscriber), on a server of their own, against the grouped figures.
 */
async function ungrouped(ctx: BenchContext, n: number, grouped: Saturation, who: string): Promise<void> {
  const sys = await System.start('branchline', ctx.db, ctx.serverNodeArgs);
  sys.query = UNGROUPED_SUBSCRIPTION;
  try {
    ctx.progress(`connecting ${n} ungrouped subscribers`);
    await sys.connect(n);
    const deliveries: number[] = [];
    const cpu: number[] = [];
    for (let round = 0; round < ctx.scale.rounds; round++) {
      ctx.progress(`fan-out N=${n} ungrouped round ${round + 1}: burst of ${grouped.burst}`);
      const r = await burstRound(ctx, sys, grouped.burst, n, 'ungrouped');
      deliveries.push(r.deliveriesPerSec);
      cpu.push(r.cpuPerDelivery);
    }
    const g = median(grouped.deliveriesPerSec);
    const u = median(deliveries);
    ctx.results.add({
      part: `Fan-out with and without grouping, N=${n}`,
      workload:
        `${who.replace('per system', 'on one server')}; the fan-out bursts above, to \`changes\` subscriptions ` +
        'that are grouped ("Branchline" column: one execution and serialization per event and group) vs the same ' +
        'subscription with `@include(if: true)` on its field, which the server does not group ("Baseline" ' +
        'column: one execution per event and subscriber, the straightforward design).',
      figures: [
        { metric: 'deliveries/s', unit: '/s', branchline: g, baseline: u, ratio: g / u },
        {
          metric: 'server CPU per delivery',
          unit: 'µs',
          branchline: median(grouped.cpuPerDelivery),
          baseline: median(cpu),
          ratio: median(grouped.cpuPerDelivery) / median(cpu),
        },
      ],
      details: { ungrouped: { deliveries, cpu } },
    });
  } finally {
    await sys.stop();
  }
}

export async function runFeed(
  ctx: BenchContext,
  parts: { latency: boolean; fanout: boolean },
): Promise<void> {
  const systems = [
    await System.start('baseline', ctx.db),
    await System.start('branchline', ctx.db, ctx.serverNodeArgs),
  ];
  try {
    for (const n of ctx.scale.sizes) {
      const workers = Math.ceil(n / PER_WORKER);
      for (const s of systems) {
        ctx.progress(`connecting ${n} subscribers to ${s.kind}`);
        await s.connect(n);
      }
      for (const s of systems) await warmUp(ctx, s, n);
      const who = `${n} subscribers per system in ${workers} worker process${workers > 1 ? 'es' : ''}`;
      const sat = await saturation(ctx, systems, n);
      const bl = sat.get('branchline') as Saturation;
      const base = sat.get('baseline') as Saturation;
      if (parts.fanout) {
        const d = median(bl.deliveriesPerSec);
        const b = median(base.deliveriesPerSec);
        ctx.results.add({
          part: `Fan-out throughput, N=${n}`,
          workload:
            `${who}; ${ctx.scale.rounds} rounds, each a burst of ${bl.burst} row changes written by raw SQL as ` +
            `fast as it goes (${WRITERS} connections, ${BATCH} rows per transaction) to products (change-log ` +
            'trigger, `changes(tables: ["products"])` over graphql-ws) vs bench_products (NOTIFY trigger with the ' +
            'row, bare ws broadcast); rate = deliveries / (last receipt - first write).',
          figures: [
            {
              metric: 'deliveries/s',
              unit: '/s',
              branchline: d,
              baseline: b,
              ratio: d / b,
              target: '≥ 0.6× bare ws',
              met: d / b >= 0.6,
            },
            {
              metric: 'server CPU per delivery',
              unit: 'µs',
              branchline: median(bl.cpuPerDelivery),
              baseline: median(base.cpuPerDelivery),
              ratio: median(bl.cpuPerDelivery) / median(base.cpuPerDelivery),
            },
            {
              metric: 'changes/s delivered to all',
              unit: '/s',
              branchline: median(bl.changesPerSec),
              baseline: median(base.changesPerSec),
              ratio: median(bl.changesPerSec) / median(base.changesPerSec),
            },
          ],
          details: { branchline: bl, baseline: base },
        });
      }
      if (parts.latency) {
        const rates: [string, Map<Kind, number>][] = ctx.scale.moderateRates.map((r) => [
          `${r} changes/s`,
          new Map<Kind, number>([
            ['branchline', r],
            ['baseline', r],
          ]),
        ]);
        const maxRate = (s: Saturation) => Math.max(5, Math.min(2000, 0.7 * median(s.changesPerSec)));
        rates.push([
          'the highest sustained rate (70 % of the saturation change rate)',
          new Map<Kind, number>([
            ['branchline', maxRate(bl)],
            ['baseline', maxRate(base)],
          ]),
        ]);
        for (const [label, rate] of rates) {
          const limits = new Map<Kind, number>([
            ['branchline', median(bl.changesPerSec)],
            ['baseline', median(base.changesPerSec)],
          ]);
          const got = await latencyRounds(ctx, systems, n, rate, limits);
          const l = acrossRounds(got.get('branchline')?.rounds ?? []);
          const b = acrossRounds(got.get('baseline')?.rounds ?? []);
          const achieved = (k: Kind) => {
            const limit = limits.get(k) ?? Number.POSITIVE_INFINITY;
            const r = rate.get(k) ?? 0;
            if (!got.get(k)?.rounds.length)
              return `not run: over twice its saturation rate of ${limit.toFixed(0)}/s`;
            const over = r > limit ? `, above its saturation rate of ${limit.toFixed(0)}/s in this run` : '';
            return `achieved ${median(got.get(k)?.achieved ?? []).toFixed(0)}/s${over}`;
          };
          const targeted = (n === 1000 && label.startsWith('20 ')) || (n === 100 && label.startsWith('200 '));
          const roundRatios = (got.get('branchline')?.rounds ?? []).map(
            (r, i) => r.p99 / (got.get('baseline')?.rounds[i]?.p99 ?? Number.NaN),
          );
          ctx.results.add({
            part: `Propagation latency, N=${n}, ${label}`,
            workload:
              `${who}; ${ctx.scale.rounds} rounds of ${ctx.scale.roundMs / 1000} s; Branchline: raw pg UPDATE of ` +
              `products (change-log trigger) paced at ${rate.get('branchline')?.toFixed(0)}/s ` +
              `(${achieved('branchline')}), received by \`changes\` over graphql-ws; baseline: the same raw pg ` +
              `UPDATE of bench_products paced at ${rate.get('baseline')?.toFixed(0)}/s (${achieved('baseline')}), ` +
              'NOTIFY with the row → bare ws broadcast, the frame encoded once per event. Latency: commit ' +
              'acknowledged to the writer → event received, every delivery, negative values kept.',
            figures: [
              ...(['p50', 'p99', 'max', 'min'] as const).map((k) => ({
                metric: `${k} latency`,
                unit: 'ms',
                branchline: l[k],
                baseline: b[k],
                ratio: k === 'min' ? null : l[k] / b[k],
                ...(targeted && k === 'p99'
                  ? { target: '≤ 1.15× bare ws p99', met: l.p99 / b.p99 <= 1.15 }
                  : {}),
              })),
              ...(got.get('branchline')?.rounds ?? []).map((r, i) => ({
                metric: `p99 latency, round ${i + 1}`,
                unit: 'ms',
                branchline: r.p99,
                baseline: got.get('baseline')?.rounds[i]?.p99 ?? Number.NaN,
                ratio: roundRatios[i] ?? null,
              })),
              {
                metric: 'deliveries received before the commit was acknowledged',
                unit: '',
                branchline: l.negative,
                baseline: b.negative,
                ratio: null,
              },
            ],
            details: { branchline: got.get('branchline'), baseline: got.get('baseline'), roundRatios },
          });
        }
      }
      for (const s of systems) await s.disconnect();
      if (parts.fanout && n === UNGROUPED_AT) await ungrouped(ctx, n, bl, who);
    }
  } finally {
    for (const s of systems) await s.stop();
  }
}

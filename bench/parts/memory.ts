/**
 * Part 5: memory. A fresh server of each system; its RSS (after a full GC, `--expose-gc`) with
 * 0, then 1,000, then 10,000 idle subscribers connected (graphql-ws `changes` subscriptions for
 * Branchline, bare ws sockets for the baseline), and the bytes each subscriber costs.
 */
import type { BenchContext } from '../lib/context.ts';
import type { Figure } from '../lib/report.ts';
import { sleep } from '../lib/stats.ts';
import { type Kind, PER_WORKER, System } from '../lib/systems.ts';

async function settledRss(sys: System): Promise<number> {
  await sys.server.request('gc');
  await sleep(500);
  await sys.server.request('gc');
  return sys.server.rss();
}

async function measure(ctx: BenchContext, kind: Kind): Promise<Map<number, number>> {
  const sys = await System.start(kind, ctx.db, kind === 'branchline' ? ctx.serverNodeArgs : []);
  const out = new Map<number, number>();
  try {
    for (const n of [...ctx.scale.idleSizes].sort((a, b) => a - b)) {
      if (n > sys.subscribers) {
        ctx.progress(`memory ${kind}: connecting up to ${n} idle subscribers`);
        await sys.connect(n - sys.subscribers, { timeoutMs: 300_000 });
      }
      out.set(n, await settledRss(sys));
    }
  } finally {
    await sys.stop();
  }
  return out;
}

export async function runMemory(ctx: BenchContext): Promise<void> {
  const bl = await measure(ctx, 'branchline');
  const base = await measure(ctx, 'baseline');
  const sizes = [...bl.keys()];
  const zero = Math.min(...sizes);
  const mb = (b: number | undefined) => (b ?? Number.NaN) / 2 ** 20;
  const figures: Figure[] = sizes.map((n) => ({
    metric: `server RSS, ${n} idle subscribers`,
    unit: 'MiB',
    branchline: mb(bl.get(n)),
    baseline: mb(base.get(n)),
    ratio: (bl.get(n) ?? 0) / (base.get(n) ?? 1),
    ...(n === 10_000 ? { target: '< 600 MB', met: mb(bl.get(n)) < 600 } : {}),
  }));
  const top = Math.max(...sizes);
  if (top > zero) {
    const per = (m: Map<number, number>) => ((m.get(top) ?? 0) - (m.get(zero) ?? 0)) / (top - zero);
    figures.push({
      metric: `bytes per subscriber (${zero} → ${top})`,
      unit: 'B',
      branchline: per(bl),
      baseline: per(base),
      ratio: per(bl) / per(base),
    });
  }
  ctx.results.add({
    part: 'Memory',
    workload:
      `A fresh server per system; idle subscribers added in steps (${sizes.join(', ')}) from worker processes of ` +
      `up to ${PER_WORKER} connections; Branchline: one graphql-ws \`changes(tables: ["products"])\` subscription ` +
      'per connection (admin token); baseline: bare ws connections. RSS read from /proc after two full GCs.',
    figures,
    details: { branchline: Object.fromEntries(bl), baseline: Object.fromEntries(base) },
  });
}

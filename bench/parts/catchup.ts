/**
 * Part 4: catch-up. `catchUpChanges` product changes are written (in transactions of 1,024 rows,
 * through the real triggers) while nobody listens; then one graphql-ws subscriber resumes from
 * the cursor before them. Figure: changes/s from the subscribe request until the last of them has
 * arrived (it is live then), and the server's RSS before and at its peak during the catch-up.
 * Baseline: a raw `pg` client reading the same change_log rows with the feed's own keyset query
 * (pages of 1,000, below the snapshot xmin horizon). Every round checks the subscriber's sequence
 * against change_log (all present, once, in feed order).
 */
import type { BenchContext } from '../lib/context.ts';
import { rssOf } from '../lib/ipc.ts';
import { median, now, sleep } from '../lib/stats.ts';
import { System } from '../lib/systems.ts';

const ROWS_PER_TX = 1024;

async function generate(ctx: BenchContext, changes: number): Promise<void> {
  const perStatement = ctx.db.productIds.length;
  for (let done = 0; done < changes; ) {
    const statements = Math.ceil(Math.min(ROWS_PER_TX, changes - done) / perStatement);
    await ctx.db.pool.query(
      `DO $$ BEGIN FOR i IN 1..${statements} LOOP
         UPDATE products SET description = 'c:' || i; END LOOP; END $$`,
    );
    done += statements * perStatement;
  }
}

async function rawRead(ctx: BenchContext, cursor: string): Promise<{ rows: number; perSecond: number }> {
  const [, xid0, id0] = cursor.split(':');
  let xid = xid0 as string;
  let id = id0 as string;
  let rows = 0;
  const t0 = now();
  for (;;) {
    const page = await ctx.db.pool.query(
      `SELECT c.xid::text AS xid, c.id::text AS id, c.tbl, c.op, c.row_id, c.version, c.data, c.changed,
              c.actor, c.branch_id, c.created_at
         FROM change_log c
        WHERE (c.xid, c.id) > ($1::xid8, $2::bigint) AND c.xid < pg_snapshot_xmin(pg_current_snapshot())
          AND c.tbl = 'products'
        ORDER BY c.xid, c.id LIMIT 1000`,
      [xid, id],
    );
    if (page.rows.length === 0) break;
    rows += page.rows.length;
    const last = page.rows[page.rows.length - 1];
    xid = last.xid;
    id = last.id;
  }
  return { rows, perSecond: (rows * 1000) / (now() - t0) };
}

export async function runCatchUp(ctx: BenchContext): Promise<void> {
  const changes = ctx.scale.catchUpChanges;
  const sys = await System.start('branchline', ctx.db, ctx.serverNodeArgs);
  try {
    const cursor = await ctx.db.currentCursor();
    ctx.progress(`catch-up: writing ${changes} changes`);
    await generate(ctx, changes);
    // As autovacuum would soon: fresh statistics, so both readers get the index plan.
    await ctx.db.pool.query('ANALYZE change_log');
    const expected = (await ctx.db.changeIdsAfter(cursor, 'products')).length;
    const rates: number[] = [];
    const raw: number[] = [];
    const peaks: number[] = [];
    const before: number[] = [];
    const serverCores: number[] = [];
    for (let r = 0; r < ctx.scale.rounds; r++) {
      ctx.progress(`catch-up round ${r + 1}: resuming ${expected} changes behind`);
      before.push(sys.server.rss());
      let peak = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, rssOf(sys.server.proc.pid));
          await sleep(50);
        }
      })();
      await sys.begin(ctx.seqs, cursor);
      const cpu0 = await sys.cpuMicros();
      const dir = r === 0 ? ctx.profileDir : null;
      const { t0, report } = await sys.profiled(dir, `catchup-${expected}`, async () => {
        const started = await sys.connect(1, { after: cursor });
        return { t0: started, report: await sys.end(ctx.seqs, 300_000) };
      });
      sampling = false;
      await sampler;
      ctx.results.check('catch-up', 'branchline', `${expected} behind, round ${r + 1}`, report);
      const seconds = (report.lastRecv - t0) / 1000;
      const cores = ((await sys.cpuMicros()) - cpu0) / 1e6 / seconds;
      serverCores.push(cores);
      ctx.progress(
        `  ${(expected / seconds).toFixed(0)} changes/s; server CPU ${cores.toFixed(2)} cores, ` +
          `subscriber worker ${(report.clientCpuMicros / 1e6 / seconds).toFixed(2)} cores`,
      );
      rates.push((report.subscribers ? expected : 0) / ((report.lastRecv - t0) / 1000));
      peaks.push(peak);
      await sys.disconnect();
      const rr = await rawRead(ctx, cursor);
      raw.push(rr.perSecond);
    }
    const rate = median(rates);
    const base = median(raw);
    ctx.results.add({
      part: 'Catch-up',
      workload:
        `${expected} product changes (transactions of ${ROWS_PER_TX} rows through the real triggers) written with no ` +
        `subscriber; then one graphql-ws \`changes(after:)\` subscriber resumes from the cursor before them ` +
        `(${ctx.scale.rounds} rounds, a new subscriber each). Baseline: raw pg keyset read of the same change_log ` +
        'rows (pages of 1,000). RSS: the server process, before the subscriber and at its peak during catch-up.',
      figures: [
        {
          metric: 'changes/s until live',
          unit: '/s',
          branchline: rate,
          baseline: base,
          ratio: rate / base,
          target: '≥ 30,000/s',
          met: rate >= 30_000,
        },
        {
          metric: 'server RSS before',
          unit: 'MiB',
          branchline: median(before) / 2 ** 20,
          baseline: null,
          ratio: null,
        },
        {
          metric: 'server RSS peak',
          unit: 'MiB',
          branchline: median(peaks) / 2 ** 20,
          baseline: null,
          ratio: null,
        },
      ],
      details: { rates, raw, peaks, before, serverCores },
    });
  } finally {
    await sys.stop();
  }
}

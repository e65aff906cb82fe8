/**
 * Applies a plan through the API's write rules, in batches of short transactions.
 *
 * Guarantees:
 * - every batch is one `writeTx` (src/resolvers/tx.ts) as the importing user: app.actor is set,
 *   so the change log and `updated_by` say who imported, and the change feed carries every
 *   imported row to open screens as it commits;
 * - batches are short (`batchSize` rows, 500 by default): the feed's horizon waits for open
 *   transactions, so a long import never holds live delivery back by more than one batch;
 * - field edits are versioned (`versionedUpdate`): a row edited in Branchline after the plan was
 *   made is skipped with the reason, not overwritten;
 * - stock changes only by ledger movements of kind IMPORT, through stock-lock.ts (fixed lock
 *   order, never below zero);
 * - a batch writes its import-map entries in the same transaction as its rows, so "imported" and
 *   "remembered" cannot come apart, and an interrupted import is resumed by running it again;
 * - a batch the database refuses is retried row by row, so one bad row is skipped with the
 *   database's reason instead of failing the run.
 *
 * Not guaranteed: the import as a whole is not one transaction (that would hold the feed back).
 */
import type { Viewer } from '../auth/viewer.ts';
import type { Context } from '../context.ts';
import type { Db } from '../db.ts';
import type { Logger } from '../logger.ts';
import { writeTx } from '../resolvers/tx.ts';
import {
  type Catalog,
  catalogBatch,
  needsWrite,
  type Outcome,
  ordersBatch,
  stockBatch,
} from './apply-batch.ts';
import type { RecordType } from './mapping.ts';
import type { Plan, PlanItem } from './plan.ts';

export interface ApplyOptions {
  db: Db;
  log: Logger;
  viewer: Viewer;
  batchSize?: number;
  onProgress?(done: number, total: number): void;
}

/** A statement the database refused (a constraint, a bad value), as opposed to a bug or a lost connection. */
function refusedByDatabase(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return (
    typeof code === 'string' &&
    (/^(22|23)/.test(code) || code === 'P2010' || code === 'P2002' || code === 'P2003')
  );
}

/** Applies `plan` in place: items the database refused become skips with the reason. */
export async function applyPlan(plan: Plan, opts: ApplyOptions): Promise<void> {
  const size = opts.batchSize ?? 500;
  const ctx = { db: opts.db, log: opts.log, viewer: opts.viewer } as unknown as Context;
  const order: RecordType[] = ['branches', 'products', 'customers', 'stock', 'orders'];
  const work = order.map((t) => ({ type: t, items: (plan.items.get(t) ?? []).filter(needsWrite) }));
  const total = work.reduce((n, w) => n + w.items.length, 0);
  let done = 0;
  opts.onProgress?.(0, total);

  const run = async (type: RecordType, items: PlanItem[]): Promise<Outcome> => {
    const out: Outcome = { skipped: new Map(), targets: new Map() };
    await writeTx(ctx, { operation: 'import', args: null }, async (tx) => {
      if (type === 'stock') await stockBatch(tx, opts.viewer, plan.namespace, items, out);
      else if (type === 'orders') await ordersBatch(tx, plan.namespace, items);
      else await catalogBatch(tx, type as Catalog, plan.namespace, items, out);
    });
    return out;
  };
  const settle = (out: Outcome) => {
    for (const [i, reason] of out.skipped) Object.assign(i, { action: 'skip', reason });
    for (const [i, id] of out.targets) i.targetId = id;
  };

  for (const { type, items } of work) {
    const step = type === 'orders' ? Math.max(1, Math.floor(size / 5)) : size;
    for (let at = 0; at < items.length; at += step) {
      const batch = items.slice(at, at + step);
      try {
        settle(await run(type, batch));
      } catch (err) {
        if (batch.length === 1 || !refusedByDatabase(err)) throw err;
        opts.log.warn(
          { module: 'import', type, err: (err as Error).message },
          'batch refused; retrying row by row',
        );
        for (const item of batch) {
          try {
            settle(await run(type, [item]));
          } catch (e) {
            if (!refusedByDatabase(e)) throw e;
            Object.assign(item, {
              action: 'skip',
              reason: `refused by the database: ${(e as Error).message}`,
            });
          }
        }
      }
      done += batch.length;
      opts.onProgress?.(done, total);
    }
  }
  // Lines follow their order.
  const skippedOrders = new Map(
    (plan.items.get('orders') ?? []).filter((o) => o.action === 'skip').map((o) => [o.key, o.reason]),
  );
  for (const line of plan.items.get('orderLines') ?? []) {
    if (line.action === 'create' && line.parent && skippedOrders.has(line.parent)) {
      Object.assign(line, { action: 'skip', reason: `its order ${line.parent} was skipped` });
    }
  }
}

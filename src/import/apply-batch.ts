/**
 * The writes of one batch of an import, inside its transaction (apply.ts owns the transactions):
 * branches, products and customers as one INSERT ... SELECT FROM unnest plus versioned updates;
 * stock as missing rows created, rows locked and IMPORT movements through stock-lock.ts; orders
 * with their lines, numbered from the branch's counter. Each writes its import-map entries in the
 * same transaction. A refusal the plan could not foresee (a version changed, stock gone) is
 * reported in `out.skipped`, applied to the plan only after the commit.
 */
import type { Viewer } from '../auth/viewer.ts';
import { VersionConflictError } from '../errors.ts';
import { applyMovements, lockStock } from '../resolvers/stock-lock.ts';
import type { Tx } from '../resolvers/tx.ts';
import { versionedUpdate } from '../resolvers/versioned.ts';
import type { RecordType } from './mapping.ts';
import type { PlanItem } from './plan.ts';

/** Outcome of a batch, applied to the plan only after its transaction committed. */
export interface Outcome {
  skipped: Map<PlanItem, string>;
  targets: Map<PlanItem, string>;
}

export type Catalog = 'branches' | 'products' | 'customers';
const COLUMNS: Record<Catalog, Record<string, [string, string]>> = {
  branches: { code: ['code', 'text'], name: ['name', 'text'], address: ['address', 'text'] },
  products: {
    sku: ['sku', 'text'],
    barcode: ['barcode', 'text'],
    name: ['name', 'text'],
    description: ['description', 'text'],
    unitPrice: ['unit_price', 'numeric'],
  },
  customers: {
    name: ['name', 'text'],
    email: ['email', 'text'],
    phone: ['phone', 'text'],
    notes: ['notes', 'text'],
    homeBranchId: ['home_branch_id', 'uuid'],
  },
};
const MODEL = { branches: 'Branch', products: 'Product', customers: 'Customer' } as const;

export const needsWrite = (i: PlanItem) =>
  i.action === 'create' || i.action === 'update' || (i.action === 'unchanged' && i.remember);

async function remember(
  tx: Tx,
  namespace: string,
  type: RecordType,
  items: { item: PlanItem; target: string }[],
) {
  const list = items.filter((x) => x.item.remember);
  if (list.length === 0) return;
  await tx.$executeRawUnsafe(
    `INSERT INTO import_map (namespace, record, source_key, target_id, source_values)
     SELECT $1, $2, k, t, v FROM unnest($3::text[], $4::uuid[], $5::jsonb[]) AS x(k, t, v)
     ON CONFLICT (namespace, record, source_key)
     DO UPDATE SET target_id = EXCLUDED.target_id, source_values = EXCLUDED.source_values, imported_at = now()`,
    namespace,
    type,
    list.map((x) => x.item.key),
    list.map((x) => x.target),
    list.map((x) => JSON.stringify(x.item.source ?? {})),
  );
}

export async function catalogBatch(
  tx: Tx,
  type: Catalog,
  namespace: string,
  items: PlanItem[],
  out: Outcome,
) {
  const cols = COLUMNS[type];
  const creates = items.filter((i) => i.action === 'create');
  if (creates.length) {
    const fields = Object.keys(cols);
    const params: unknown[] = [creates.map((i) => i.targetId)];
    for (const f of fields) params.push(creates.map((i) => (i.values?.[f] ?? null) as unknown));
    const types = ['uuid', ...fields.map((f) => (cols[f] as [string, string])[1])];
    await tx.$executeRawUnsafe(
      `INSERT INTO ${type} (id, ${fields.map((f) => (cols[f] as [string, string])[0]).join(', ')})
       SELECT * FROM unnest(${types.map((t, n) => `$${n + 1}::${t}[]`).join(', ')})`,
      ...params,
    );
  }
  for (const i of items.filter((x) => x.action === 'update')) {
    const patch = i.values ?? {};
    const sets = Object.keys(patch).map(
      (f, n) => `${(cols[f] as [string, string])[0]} = $${n + 3}::${(cols[f] as [string, string])[1]}`,
    );
    try {
      await versionedUpdate(tx, {
        model: MODEL[type],
        table: type,
        id: i.targetId as string,
        expectedVersion: i.expectedVersion as number,
        patch,
        write: () =>
          tx.$executeRawUnsafe(
            `UPDATE ${type} SET ${sets.join(', ')} WHERE id = $1::uuid AND version = $2`,
            i.targetId,
            i.expectedVersion,
            ...Object.values(patch),
          ),
        load: async () =>
          (
            await tx.$queryRawUnsafe<{ id: string; version: number }[]>(
              `SELECT id, version FROM ${type} WHERE id = $1::uuid`,
              i.targetId,
            )
          )[0] ?? null,
      });
    } catch (err) {
      if (!(err instanceof VersionConflictError)) throw err;
      out.skipped.set(
        i,
        `changed in Branchline since the import read it (${err.changedFields.join(', ') || 'version'}); run the import again`,
      );
    }
  }
  const ok = items.filter((i) => !out.skipped.has(i));
  await remember(
    tx,
    namespace,
    type,
    ok.map((item) => ({ item, target: item.targetId as string })),
  );
}

export async function stockBatch(tx: Tx, viewer: Viewer, namespace: string, items: PlanItem[], out: Outcome) {
  const creates = items.filter((i) => i.action === 'create');
  if (creates.length) {
    const rows = creates.map((i) => i.stock as NonNullable<PlanItem['stock']>);
    await tx.$executeRawUnsafe(
      `INSERT INTO stock_levels (branch_id, product_id, reorder_level)
       SELECT b, p, r FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS k(b, p, r)
       ORDER BY b, p
       ON CONFLICT (branch_id, product_id) DO NOTHING`,
      rows.map((s) => s.branchId),
      rows.map((s) => s.productId),
      rows.map((s) => s.reorderLevel ?? 0),
    );
  }
  const locked = await lockStock(
    tx,
    items.map((i) => i.stock as NonNullable<PlanItem['stock']>),
  );
  const key = (i: PlanItem) => `${i.stock?.branchId}:${i.stock?.productId}`;
  for (const i of items.filter((x) => x.action === 'update' && x.stock?.reorderLevel !== undefined)) {
    const s = i.stock as NonNullable<PlanItem['stock']>;
    const n = await tx.$executeRawUnsafe(
      'UPDATE stock_levels SET reorder_level = $3 WHERE id = $1::uuid AND version = $2',
      i.targetId,
      s.expectedVersion,
      s.reorderLevel,
    );
    if (n === 0)
      out.skipped.set(i, 'changed in Branchline since the import read it (version); run the import again');
  }
  const moves = [];
  for (const i of items) {
    const s = i.stock as NonNullable<PlanItem['stock']>;
    const have = locked.get(key(i))?.quantity ?? 0;
    if (out.skipped.has(i) || s.delta === 0) continue;
    if (have + s.delta < 0) {
      out.skipped.set(i, `negative stock: Branchline has ${have}, the import would move ${s.delta}`);
      continue;
    }
    moves.push({
      branchId: s.branchId,
      productId: s.productId,
      kind: 'IMPORT' as const,
      delta: s.delta,
      reason: `import ${namespace}`,
    });
  }
  if (moves.length) await applyMovements(tx, viewer, locked, moves);
  const ok = items.filter((i) => !out.skipped.has(i) && locked.has(key(i)));
  for (const i of ok) out.targets.set(i, locked.get(key(i))?.id as string);
  await remember(
    tx,
    namespace,
    'stock',
    ok.map((item) => ({ item, target: locked.get(key(item))?.id as string })),
  );
}

/** Money as integer cents ("12.50" -> 1250n), exact. */
const cents = (s: string) => {
  const [i, f = ''] = s.split('.') as [string, string?];
  return BigInt(i) * 100n + BigInt(f.padEnd(2, '0').slice(0, 2));
};
const money = (c: bigint) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;

export async function ordersBatch(tx: Tx, namespace: string, items: PlanItem[]) {
  const creates = items.filter((i) => i.action === 'create');
  const byBranch = new Map<string, PlanItem[]>();
  for (const i of creates) {
    const b = i.order?.branchId as string;
    byBranch.set(b, [...(byBranch.get(b) ?? []), i]);
  }
  const orders: { item: PlanItem; seq: number; number: string; total: string; count: number }[] = [];
  for (const [branchId, list] of [...byBranch].sort(([a], [b]) => (a < b ? -1 : 1))) {
    list.sort((a, b) => ((a.order?.placedAt ?? '') < (b.order?.placedAt ?? '') ? -1 : 1));
    await tx.$executeRawUnsafe(
      'INSERT INTO order_counters (branch_id) VALUES ($1::uuid) ON CONFLICT DO NOTHING',
      branchId,
    );
    const [{ last_seq: last }] = await tx.$queryRawUnsafe<{ last_seq: number }[]>(
      'UPDATE order_counters SET last_seq = last_seq + $2 WHERE branch_id = $1::uuid RETURNING last_seq',
      branchId,
      list.length,
    );
    list.forEach((item, n) => {
      const o = item.order as NonNullable<PlanItem['order']>;
      const seq = last - list.length + 1 + n;
      const total = o.lines.reduce((sum, l) => sum + cents(l.unitPrice) * BigInt(l.quantity), 0n);
      orders.push({
        item,
        seq,
        number: `${o.branchCode}-${String(seq).padStart(6, '0')}`,
        total: money(total),
        count: o.lines.reduce((s, l) => s + l.quantity, 0),
      });
    });
  }
  if (orders.length) {
    const o = (x: (typeof orders)[number]) => x.item.order as NonNullable<PlanItem['order']>;
    await tx.$executeRawUnsafe(
      `INSERT INTO orders (id, branch_id, seq, number, customer_id, status, total, item_count, placed_at, paid_at, cancelled_at, created_at)
       SELECT id, b, s, n, c, st::"OrderStatus", t, ic, at,
              CASE WHEN st = 'PAID' THEN at END, CASE WHEN st = 'CANCELLED' THEN at END, at
         FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::uuid[], $6::text[], $7::numeric[], $8::int[], $9::timestamptz[])
           AS x(id, b, s, n, c, st, t, ic, at)`,
      orders.map((x) => x.item.targetId),
      orders.map((x) => o(x).branchId),
      orders.map((x) => x.seq),
      orders.map((x) => x.number),
      orders.map((x) => o(x).customerId),
      orders.map((x) => o(x).status),
      orders.map((x) => x.total),
      orders.map((x) => x.count),
      orders.map((x) => o(x).placedAt),
    );
    const lines = orders.flatMap((x) =>
      o(x).lines.map((l) => ({ orderId: x.item.targetId, branchId: o(x).branchId, at: o(x).placedAt, ...l })),
    );
    await tx.$executeRawUnsafe(
      `INSERT INTO order_items (order_id, branch_id, product_id, quantity, unit_price, line_total, created_at)
       SELECT o, b, p, q, u, u * q, at
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::numeric[], $6::timestamptz[]) AS x(o, b, p, q, u, at)`,
      lines.map((l) => l.orderId),
      lines.map((l) => l.branchId),
      lines.map((l) => l.productId),
      lines.map((l) => l.quantity),
      lines.map((l) => l.unitPrice),
      lines.map((l) => l.at),
    );
  }
  await remember(
    tx,
    namespace,
    'orders',
    creates.map((item) => ({ item, target: item.targetId as string })),
  );
}

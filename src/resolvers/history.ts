/**
 * history(table, id): every change of one record, oldest first, from the change log (who, when,
 * which fields, the row image after the change). The same visibility rule as everywhere:
 * branch-scoped rows only for viewers of that branch; users and tokens only for admins (and a
 * user's own). An invisible record has, to the viewer, no history at all. A customer's home
 * branch the viewer may not see shows as null, as in the feed.
 */
import { visibleBranchIds } from '../auth/access.ts';
import type { Context } from '../context.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { accessScope } from '../listeners/access.ts';
import { id, parse } from './validate.ts';
import { camel } from './versioned.ts';
import { requireViewer } from './viewer.ts';

export const HISTORY_TABLES = {
  BRANCHES: 'branches',
  PRODUCTS: 'products',
  STOCK_LEVELS: 'stock_levels',
  STOCK_MOVEMENTS: 'stock_movements',
  CUSTOMERS: 'customers',
  ORDERS: 'orders',
  ORDER_ITEMS: 'order_items',
  USERS: 'users',
  API_TOKENS: 'api_tokens',
  STOCK_REQUESTS: 'stock_requests',
} as const;
export type HistoryTable = keyof typeof HISTORY_TABLES;

const BRANCH_SCOPED = new Set(['branches', 'stock_levels', 'stock_movements', 'orders', 'order_items']);
const OPS = { I: 'INSERT', U: 'UPDATE', D: 'DELETE' } as const;
export const HISTORY_LIMIT = 1000;

export interface HistoryEntry {
  op: 'INSERT' | 'UPDATE' | 'DELETE';
  version: number | null;
  changedFields: string[];
  actor: string | null;
  at: Date;
  values: Record<string, unknown> | null;
  /** Stock levels: the notes of the movements that made this change (a receipt's note, a reason). */
  notes: string[];
}

function camelKeys(data: Record<string, unknown> | null): Record<string, unknown> | null {
  return data && Object.fromEntries(Object.entries(data).map(([k, v]) => [camel(k), v]));
}

export async function history(
  args: { table: HistoryTable; id: string },
  ctx: Context,
): Promise<HistoryEntry[]> {
  const viewer = requireViewer(ctx);
  const rowId = parse(id, args.id);
  const table = HISTORY_TABLES[args.table];
  const admin = viewer.role === 'ADMIN';
  const conditions = [Prisma.sql`tbl = ${table}`, Prisma.sql`row_id = ${rowId}::uuid`];
  if (BRANCH_SCOPED.has(table) && !admin) {
    conditions.push(Prisma.sql`branch_id = ANY(${visibleBranchIds(viewer) ?? []}::uuid[])`);
  }
  if (table === 'stock_requests' && !admin) {
    // A request is seen by the users of either of its branches, as in the feed.
    const mine = visibleBranchIds(viewer) ?? [];
    conditions.push(
      Prisma.sql`(branch_id = ANY(${mine}::uuid[]) OR data ->> 'from_branch_id' = ANY(${mine}::text[]))`,
    );
  }
  if (table === 'users' && !admin) conditions.push(Prisma.sql`row_id = ${viewer.userId}::uuid`);
  if (table === 'api_tokens' && !admin) conditions.push(Prisma.sql`data ->> 'user_id' = ${viewer.userId}`);
  const rows = await ctx.db.prisma.$queryRaw<
    {
      op: 'I' | 'U' | 'D';
      version: number | null;
      changed: string[] | null;
      actor: string | null;
      created_at: Date;
      data: Record<string, unknown> | null;
      xid: string;
    }[]
  >`SELECT op, version, changed, actor, created_at, data, xid::text AS xid FROM (
      SELECT xid, id, op, version, changed, actor, created_at, data FROM change_log
       WHERE ${Prisma.join(conditions, ' AND ')}
       ORDER BY xid DESC, id DESC LIMIT ${HISTORY_LIMIT}
    ) newest ORDER BY newest.xid, newest.id`;
  const notes = table === 'stock_levels' ? await movementNotes(ctx, rows) : new Map<string, string[]>();
  // The same row image the feed shows this viewer (a home branch it may not see is null).
  const scope = accessScope(viewer);
  return rows.map((r) => ({
    notes: notes.get(r.xid) ?? [],
    op: OPS[r.op],
    version: r.version,
    changedFields: (r.changed ?? []).map(camel),
    actor: r.actor,
    at: r.created_at,
    values: camelKeys(scope.data({ tbl: table, data: r.data })),
  }));
}

/**
 * The notes (reasons) of the ledger rows written in the same transactions as these stock-level
 * changes, for the same branch and product: what the clerk typed when receiving, the reason of an
 * adjustment. Keyed by transaction id.
 */
async function movementNotes(
  ctx: Context,
  rows: { xid: string; data: Record<string, unknown> | null }[],
): Promise<Map<string, string[]>> {
  const last = rows.at(-1)?.data;
  if (!last || rows.length === 0) return new Map();
  const found = await ctx.db.prisma.$queryRaw<{ xid: string; reason: string }[]>`
    SELECT xid::text AS xid, data ->> 'reason' AS reason FROM change_log
     WHERE tbl = 'stock_movements' AND xid = ANY(${rows.map((r) => r.xid)}::xid8[])
       AND data ->> 'branch_id' = ${String(last.branch_id)} AND data ->> 'product_id' = ${String(last.product_id)}
       AND coalesce(data ->> 'reason', '') <> ''
     ORDER BY xid, id`;
  const out = new Map<string, string[]>();
  for (const f of found) out.set(f.xid, [...(out.get(f.xid) ?? []), f.reason]);
  return out;
}

/**
 * The plan of an import: for every source row, what it does in Branchline (create, update,
 * unchanged, skip with a reason), decided from the merged source rows (merge.ts) and what
 * Branchline holds (state.ts). A dry run prints the plan; a real run applies it (apply.ts).
 *
 * Matching, in order: the import map (the source key this namespace imported before), then the
 * natural key: branch code, product SKU then barcode, customer email, then customer phone; stock
 * by branch x product. Validation is the API's own (the zod schemas of
 * src/resolvers), after cleaning (values.ts). A re-run compares the source with the values it
 * had at the last import (kept in the map): only fields that changed in the source since are
 * written, so edits made in Branchline meanwhile to other fields are kept, and a second run of
 * the same sources changes nothing.
 */

import type { Mapping, RecordType } from './mapping.ts';
import type { Conflict, Merged, MergedRow } from './merge.ts';
import { planCatalog } from './plan-catalog.ts';
import { planOrders } from './plan-orders.ts';
import { planStock } from './plan-stock.ts';
import { mapKey, type State } from './state.ts';

export type Action = 'create' | 'update' | 'unchanged' | 'skip';

export interface StockChange {
  branchId: string;
  productId: string;
  /** The movement (IMPORT) to apply; 0 for none. */
  delta: number;
  /** A new reorder level, or undefined to leave it. */
  reorderLevel?: number;
  /** Version of the existing stock row (reorder-level edits are versioned); undefined for a new row. */
  expectedVersion?: number;
}

export interface OrderLine {
  productId: string;
  quantity: number;
  unitPrice: string;
}

export interface NewOrder {
  branchId: string;
  branchCode: string;
  customerId: string | null;
  placedAt: string;
  status: 'PLACED' | 'PAID' | 'CANCELLED';
  lines: OrderLine[];
}

export interface PlanItem {
  type: RecordType;
  key: string;
  location: string;
  action: Action;
  reason?: string;
  /** The Branchline row (a fresh id for a create). */
  targetId?: string;
  expectedVersion?: number;
  /** create: every field; update: the fields to change. */
  values?: Record<string, unknown>;
  /** The source's values, kept in the import map. */
  source?: Record<string, unknown>;
  /** The import map entry is to be written (new, or the source's values changed). */
  remember?: boolean;
  stock?: StockChange;
  order?: NewOrder;
  /** Orders: how many lines the order has (they are written with it). */
  lines?: number;
  /** Order lines: the source key of their order. */
  parent?: string;
}

export interface Plan {
  namespace: string;
  items: Map<RecordType, PlanItem[]>;
  conflicts: Conflict[];
  notes: string[];
}

/** What the records planned so far resolve to: source key -> Branchline id, or why not. */
export class Refs {
  private readonly byKey = new Map<string, { id?: string; problem?: string }>();
  readonly branchByCode = new Map<string, string>();
  readonly branchCodeById = new Map<string, string>();
  readonly productBySku = new Map<string, string>();
  readonly productByBarcode = new Map<string, string>();
  readonly productPrice = new Map<string, string>();

  constructor(private readonly state: State) {
    for (const [code, id] of state.branchByCode) {
      this.branchByCode.set(code, id);
      this.branchCodeById.set(id, code);
    }
    for (const [sku, id] of state.productBySku) this.productBySku.set(sku, id);
    for (const [code, id] of state.productByBarcode) this.productByBarcode.set(code, id);
    for (const p of state.products.values()) this.productPrice.set(p.id, p.values.unitPrice ?? '0.00');
  }

  record(item: PlanItem): void {
    this.byKey.set(
      mapKey(item.type, item.key),
      item.action === 'skip' ? { problem: item.reason } : { id: item.targetId },
    );
  }

  /** The Branchline id of a source key of `type`, or a reason why there is none. */
  resolve(type: RecordType, key: string, label: string): { id?: string; problem?: string } {
    const planned = this.byKey.get(mapKey(type, key));
    if (planned?.id) return planned;
    if (planned) return { problem: `${label} ${key} was skipped (${planned.problem})` };
    const earlier = this.state.map.get(mapKey(type, key));
    const table = {
      branches: this.state.branches,
      products: this.state.products,
      customers: this.state.customers,
    };
    if (earlier && type in table && table[type as keyof typeof table].has(earlier.targetId)) {
      return { id: earlier.targetId };
    }
    if (earlier && !(type in table)) return { id: earlier.targetId };
    return { problem: `unknown ${label} ${key}` };
  }
}

export function skip(row: MergedRow, reason: string): PlanItem {
  return { type: row.type, key: row.key, location: row.location, action: 'skip', reason };
}

export function makePlan(merged: Merged, mapping: Mapping, state: State): Plan {
  const items = new Map<RecordType, PlanItem[]>();
  const refs = new Refs(state);
  const rowsOf = (t: RecordType) => merged.rows.get(t) ?? [];
  for (const type of ['branches', 'products', 'customers'] as const) {
    if (merged.rows.has(type)) items.set(type, planCatalog(type, rowsOf(type), mapping, state, refs));
  }
  if (merged.rows.has('stock')) items.set('stock', planStock(rowsOf('stock'), mapping, state, refs));
  if (merged.rows.has('orders') || merged.rows.has('orderLines')) {
    const { orders, lines } = planOrders(rowsOf('orders'), rowsOf('orderLines'), mapping, state, refs);
    items.set('orders', orders);
    items.set('orderLines', lines);
  }
  return { namespace: mapping.namespace, items, conflicts: merged.conflicts, notes: merged.notes };
}

export interface Counts {
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
}

export function countsOf(plan: Plan): Partial<Record<RecordType, Counts>> {
  const out: Partial<Record<RecordType, Counts>> = {};
  for (const [type, list] of plan.items) {
    const c: Counts = { created: 0, updated: 0, unchanged: 0, skipped: 0 };
    for (const i of list) {
      if (i.action === 'create') c.created++;
      else if (i.action === 'update') c.updated++;
      else if (i.action === 'unchanged') c.unchanged++;
      else c.skipped++;
    }
    out[type] = c;
  }
  return out;
}

/**
 * Planning stock per branch. Quantities change only by movements, so an import plans one IMPORT
 * movement per stock row: on the first import of a row, the difference between the source's
 * quantity and Branchline's (a new row starts at 0); on a later import, only what changed in the
 * source since the last one (kept in the import map), so sales made in Branchline meanwhile are
 * not undone. Negative source quantities, and a change that would take stock below zero, are
 * skipped. A reorder level is a versioned field edit of the stock row.
 */

import { type Mapping, MappingError } from './mapping.ts';
import type { MergedRow } from './merge.ts';
import { type PlanItem, type Refs, skip } from './plan.ts';
import { mapKey, type State, sameValues, stockKey } from './state.ts';
import { cleanLine, parseInteger } from './values.ts';

const MAX = 1_000_000;

/** Branch of a stock or order row: source key, branch code, or the mapping's default code. */
export function branchOf(
  raw: Record<string, unknown>,
  mapping: Mapping,
  refs: Refs,
): { id?: string; problem?: string } {
  const ref = cleanLine(raw.branch);
  if (ref) return refs.resolve('branches', ref, 'branch');
  const code = (cleanLine(raw.branchCode) ?? mapping.defaults.branchCode ?? null)?.toUpperCase();
  if (!code) return { problem: 'unknown branch (no branch column and no defaults.branchCode)' };
  const id = refs.branchByCode.get(code);
  return id ? { id } : { problem: `unknown branch ${code}` };
}

/** Product of a stock or order-line row: source key, SKU or barcode. */
export function productOf(raw: Record<string, unknown>, refs: Refs): { id?: string; problem?: string } {
  const ref = cleanLine(raw.product);
  if (ref) return refs.resolve('products', ref, 'product');
  const sku = cleanLine(raw.productSku);
  const barcode = cleanLine(raw.productBarcode);
  if (!sku && barcode) {
    const id = refs.productByBarcode.get(barcode);
    return id ? { id } : { problem: `unknown product barcode ${barcode}` };
  }
  if (!sku) return { problem: 'blank product' };
  const id = refs.productBySku.get(sku);
  return id ? { id } : { problem: `unknown product SKU ${sku}` };
}

export function planStock(rows: MergedRow[], mapping: Mapping, state: State, refs: Refs): PlanItem[] {
  const m = mapping.records.stock;
  if (!m) return [];
  if (!('quantity' in m.fields)) throw new MappingError('stock: field "quantity" must be mapped');
  if (!('product' in m.fields) && !('productSku' in m.fields) && !('productBarcode' in m.fields)) {
    throw new MappingError('stock: field "product", "productSku" or "productBarcode" must be mapped');
  }
  const reorderMapped = 'reorderLevel' in m.fields;
  const first = new Map<string, string>();
  const out: PlanItem[] = [];
  for (const row of rows) {
    out.push(planRow(row));
  }
  return out;

  function planRow(row: MergedRow): PlanItem {
    if (row.problem) return skip(row, row.problem);
    const raw = row.values;
    const product = productOf(raw, refs);
    if (!product.id) return skip(row, product.problem as string);
    const branch = branchOf(raw, mapping, refs);
    if (!branch.id) return skip(row, branch.problem as string);
    const q = parseInteger(raw.quantity, mapping.decimal);
    if (cleanLine(raw.quantity) === null && typeof raw.quantity !== 'number')
      return skip(row, 'blank quantity');
    if (q === undefined)
      return skip(row, `invalid quantity ${JSON.stringify(String(raw.quantity))}: must be a whole number`);
    if (q < 0) return skip(row, `negative stock (${q})`);
    if (q > MAX) return skip(row, `invalid quantity ${q}: at most ${MAX}`);
    let reorder: number | undefined;
    if (reorderMapped && cleanLine(raw.reorderLevel) !== null) {
      reorder = parseInteger(raw.reorderLevel, mapping.decimal);
      if (reorder === undefined || reorder < 0 || reorder > MAX) {
        return skip(row, `invalid reorder level ${JSON.stringify(String(raw.reorderLevel))}`);
      }
    }
    const sk = stockKey(branch.id, product.id);
    const code = refs.branchCodeById.get(branch.id) ?? branch.id;
    const dup = first.get(sk);
    if (dup) return skip(row, `duplicate stock row for this product at branch ${code} (first at ${dup})`);
    first.set(sk, row.location);

    const source: Record<string, unknown> = {
      quantity: q,
      ...(reorder === undefined ? {} : { reorderLevel: reorder }),
    };
    const entry = state.map.get(mapKey('stock', row.key));
    const current = state.stock.get(sk);
    const earlier = entry && current && entry.targetId === current.id ? entry.values : undefined;
    const have = current?.quantity ?? 0;
    const delta = earlier ? q - Number(earlier.quantity ?? 0) : q - have;
    const reorderBefore = earlier ? (earlier.reorderLevel as number | undefined) : current?.reorderLevel;
    const newReorder =
      reorder !== undefined && reorder !== reorderBefore && reorder !== (current?.reorderLevel ?? 0)
        ? reorder
        : undefined;
    if (have + delta < 0) {
      return skip(
        row,
        `negative stock: the source went from ${earlier?.quantity} to ${q}, Branchline has ${have}`,
      );
    }
    const base = { type: 'stock' as const, key: row.key, location: row.location, source };
    const stock = {
      branchId: branch.id,
      productId: product.id,
      delta,
      reorderLevel: newReorder,
      expectedVersion: current?.version,
    };
    const remember = !entry || !earlier || !sameValues(entry.values, source);
    if (!current) return { ...base, action: 'create', stock, remember: true };
    if (delta === 0 && newReorder === undefined) {
      return { ...base, action: 'unchanged', targetId: current.id, stock, remember };
    }
    return { ...base, action: 'update', targetId: current.id, stock, remember: true };
  }
}

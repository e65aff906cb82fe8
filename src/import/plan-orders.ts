/**
 * Planning historical orders with their lines. An imported order is history: it gets the next
 * order number of its branch when it is written (numbers stay gap-free), keeps its sale date
 * (placed_at, so today's dashboard is not inflated), and moves no stock (the source's stock
 * figures already reflect its sales; stock arrives as IMPORT movements). An order is taken whole
 * or not at all: one bad line skips the order, and every line says why. An order imported before
 * is left as it is.
 */
import { LIMITS, price } from '../resolvers/validate.ts';
import { type Mapping, MappingError } from './mapping.ts';
import type { MergedRow } from './merge.ts';
import type { NewOrder, OrderLine, PlanItem, Refs } from './plan.ts';
import { skip } from './plan.ts';
import { branchOf, productOf } from './plan-stock.ts';
import { mapKey, type State } from './state.ts';
import { cleanLine, parseDate, parseInteger, parseMoney } from './values.ts';

const STATUS: Record<string, NewOrder['status']> = {
  paid: 'PAID',
  completed: 'PAID',
  complete: 'PAID',
  closed: 'PAID',
  done: 'PAID',
  settled: 'PAID',
  open: 'PLACED',
  placed: 'PLACED',
  pending: 'PLACED',
  new: 'PLACED',
  cancelled: 'CANCELLED',
  canceled: 'CANCELLED',
  void: 'CANCELLED',
  voided: 'CANCELLED',
};

function lineOf(row: MergedRow, mapping: Mapping, refs: Refs): OrderLine | string {
  const raw = row.values;
  const product = productOf(raw, refs);
  if (!product.id) return product.problem as string;
  const q = parseInteger(raw.quantity, mapping.decimal);
  if (q === undefined) return `invalid quantity ${JSON.stringify(String(raw.quantity))}`;
  if (q < 1 || q > LIMITS.maxQuantity) return `invalid quantity ${q}: 1 to ${LIMITS.maxQuantity}`;
  let unitPrice = refs.productPrice.get(product.id);
  if (cleanLine(raw.unitPrice) !== null || typeof raw.unitPrice === 'number') {
    unitPrice = parseMoney(raw.unitPrice, mapping.decimal);
    if (!unitPrice || !price.safeParse(unitPrice).success)
      return `invalid price ${JSON.stringify(String(raw.unitPrice))}`;
  }
  if (!unitPrice) return 'no price: the line has none and neither has its product';
  return { productId: product.id, quantity: q, unitPrice };
}

export function planOrders(
  orderRows: MergedRow[],
  lineRows: MergedRow[],
  mapping: Mapping,
  state: State,
  refs: Refs,
): { orders: PlanItem[]; lines: PlanItem[] } {
  const om = mapping.records.orders;
  const lm = mapping.records.orderLines;
  if (!om || !lm)
    throw new MappingError('orders and orderLines are mapped together (an order needs its lines)');
  if (!('placedAt' in om.fields)) throw new MappingError('orders: field "placedAt" must be mapped');
  if (!('order' in lm.fields) || !('quantity' in lm.fields)) {
    throw new MappingError('orderLines: fields "order" and "quantity" must be mapped');
  }
  const linesOf = new Map<string, MergedRow[]>();
  const lines: PlanItem[] = [];
  const orderKeys = new Set(orderRows.filter((r) => !r.problem).map((r) => r.key));
  for (const row of lineRows) {
    const key = cleanLine(row.values.order);
    if (row.problem) lines.push(skip(row, row.problem));
    else if (!key || !orderKeys.has(key)) lines.push(skip(row, key ? `unknown order ${key}` : 'blank order'));
    else linesOf.set(key, [...(linesOf.get(key) ?? []), row]);
  }

  const orders: PlanItem[] = [];
  for (const row of orderRows) {
    if (row.problem) {
      orders.push(skip(row, row.problem));
      continue;
    }
    const own = linesOf.get(row.key) ?? [];
    const entry = state.map.get(mapKey('orders', row.key));
    if (entry) {
      orders.push({
        type: 'orders',
        key: row.key,
        location: row.location,
        action: 'unchanged',
        targetId: entry.targetId,
        lines: own.length,
      });
      for (const l of own)
        lines.push({
          type: 'orderLines',
          key: l.key,
          location: l.location,
          action: 'unchanged',
          parent: row.key,
        });
      continue;
    }
    const problem = orderProblem(row);
    const planned = own.map((l) => ({ row: l, line: lineOf(l, mapping, refs) }));
    const bad = planned.find((p) => typeof p.line === 'string');
    const why =
      (typeof problem === 'string' ? problem : undefined) ??
      (own.length === 0 ? 'the order has no lines' : undefined) ??
      (own.length > LIMITS.maxOrderItems ? `more than ${LIMITS.maxOrderItems} lines` : undefined) ??
      (bad ? `line at ${bad.row.location}: ${bad.line}` : undefined);
    if (why || typeof problem === 'string') {
      orders.push(skip(row, why as string));
      for (const p of planned) {
        lines.push(skip(p.row, typeof p.line === 'string' ? p.line : `its order ${row.key} was skipped`));
      }
      continue;
    }
    const order = { ...(problem as Omit<NewOrder, 'lines'>), lines: planned.map((p) => p.line as OrderLine) };
    const id = crypto.randomUUID();
    orders.push({
      type: 'orders',
      key: row.key,
      location: row.location,
      action: 'create',
      targetId: id,
      order,
      source: { placedAt: order.placedAt },
      remember: true,
      lines: own.length,
    });
    for (const p of planned)
      lines.push({
        type: 'orderLines',
        key: p.row.key,
        location: p.row.location,
        action: 'create',
        parent: row.key,
      });
  }
  return { orders, lines };

  function orderProblem(row: MergedRow): Omit<NewOrder, 'lines'> | string {
    const raw = row.values;
    const branch = branchOf(raw, mapping, refs);
    if (!branch.id) return branch.problem as string;
    const placedAt = parseDate(raw.placedAt);
    if (!placedAt)
      return cleanLine(raw.placedAt)
        ? `invalid sale date ${JSON.stringify(String(raw.placedAt))}`
        : 'blank sale date';
    const statusText = cleanLine(raw.status)?.toLowerCase();
    const status = statusText ? STATUS[statusText] : 'PAID';
    if (!status) return `invalid status ${JSON.stringify(statusText)}: paid, open or cancelled`;
    let customerId: string | null = null;
    const customer = cleanLine(raw.customer);
    if (customer && customer !== '0') {
      const r = refs.resolve('customers', customer, 'customer');
      if (!r.id) return r.problem as string;
      customerId = r.id;
    }
    return {
      branchId: branch.id,
      branchCode: refs.branchCodeById.get(branch.id) ?? '',
      customerId,
      placedAt: placedAt.toISOString(),
      status,
    };
  }
}

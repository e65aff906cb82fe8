/**
 * What this device's queued changes (not yet sent, or waiting on a conflict) will do to stock and
 * sales, so views show the device's own work while offline: stock minus queued sales and
 * transfers out, plus queued receipts, adjustments and transfers in; queued sales as orders not
 * yet sent. Changes that failed are left out (they will not apply unless the user retries).
 * A count is absolute and is not anticipated.
 */
import { useMemo } from 'react';
import { useStore } from '../lib/store.ts';
import { type OutboxItem, outboxItems } from './queue.ts';

type Row = Record<string, unknown>;

export interface QueuedLine {
  productId: string;
  quantity: number;
  shownUnitPrice: string | null;
}

export interface QueuedSale {
  seq: number;
  label: string;
  /** When the sale was made (the device's clock). */
  soldAt: string;
  branchId: string;
  customerId: string | null;
  items: QueuedLine[];
  payment: { method: string; tendered?: string | null } | null;
}

const live = (i: OutboxItem) => i.state !== 'failed';

/** Queued quantity changes at `branchId`, by product id. */
export function queuedStock(items: readonly OutboxItem[], branchId: string): Map<string, number> {
  const delta = new Map<string, number>();
  const add = (b: unknown, productId: unknown, n: number) => {
    if (b !== branchId || typeof productId !== 'string' || !Number.isFinite(n)) return;
    delta.set(productId, (delta.get(productId) ?? 0) + n);
  };
  for (const item of items.filter(live)) {
    const v = item.variables;
    switch (item.name) {
      case 'placeOrder': {
        const input = v.input as Row;
        for (const l of (input.items as Row[]) ?? []) add(input.branchId, l.productId, -Number(l.quantity));
        break;
      }
      case 'receiveStock':
        add(v.branchId, v.productId, Number(v.quantity));
        break;
      case 'adjustStock':
        add(v.branchId, v.productId, Number(v.delta));
        break;
      case 'transferStock':
        add(v.fromBranchId, v.productId, -Number(v.quantity));
        add(v.toBranchId, v.productId, Number(v.quantity));
        break;
    }
  }
  for (const [k, n] of delta) if (n === 0) delta.delete(k);
  return delta;
}

/** Queued sales at `branchId`, oldest first. */
export function queuedSales(items: readonly OutboxItem[], branchId: string): QueuedSale[] {
  return items
    .filter((i) => live(i) && i.name === 'placeOrder' && (i.variables.input as Row).branchId === branchId)
    .map((i) => {
      const input = i.variables.input as Row;
      return {
        seq: i.seq as number,
        label: i.label,
        soldAt: typeof input.soldAt === 'string' ? input.soldAt : new Date(i.createdAt).toISOString(),
        branchId,
        customerId: (input.customerId as string | null) ?? null,
        items: ((input.items as Row[]) ?? []).map((l) => ({
          productId: String(l.productId),
          quantity: Number(l.quantity),
          shownUnitPrice: (l.shownUnitPrice as string | null) ?? null,
        })),
        payment: (input.payment as QueuedSale['payment']) ?? null,
      };
    });
}

export function useQueuedStock(branchId: string): Map<string, number> {
  const items = useStore(outboxItems);
  return useMemo(() => queuedStock(items, branchId), [items, branchId]);
}

export function useQueuedSales(branchId: string): QueuedSale[] {
  const items = useStore(outboxItems);
  return useMemo(() => queuedSales(items, branchId), [items, branchId]);
}

/**
 * countStock: a stock count sets the quantity to what was counted, as one COUNT movement of the
 * difference, inside the usual locked write (stock-lock.ts). It needs the version of the stock
 * level the counter saw: a sale in the meantime makes the count stale (VersionConflict).
 */
import { z } from 'zod';
import { assertBranchVisible, assertCan, assertStockChangeAllowed } from '../auth/access.ts';
import type { Context } from '../context.ts';
import { NotFoundError } from '../errors.ts';
import type { StockLevel } from '../generated/prisma/client.ts';
import { applyMovements, lockStock } from './stock-lock.ts';
import { writeTx } from './tx.ts';
import { id, nonNegativeQuantity, parse, version } from './validate.ts';
import { conflictError } from './versioned.ts';
import { requireViewer } from './viewer.ts';

type Key = { idempotencyKey?: string | null };

const countInput = z.object({
  branchId: id,
  productId: id,
  counted: nonNegativeQuantity,
  expectedVersion: version,
});

export function countStock(
  args: { branchId: string; productId: string; counted: number; expectedVersion: number } & Key,
  ctx: Context,
): Promise<StockLevel> {
  const viewer = requireViewer(ctx);
  const { idempotencyKey, ...request } = args;
  const input = parse(countInput, request);
  assertBranchVisible(viewer, input.branchId);
  assertCan(viewer, 'receiveStock');
  return writeTx(ctx, { operation: 'countStock', args: request, idempotencyKey }, async (tx) => {
    const key = { branchId: input.branchId, productId: input.productId };
    const locked = await lockStock(tx, [key]);
    const row = locked.get(`${key.branchId}:${key.productId}`);
    const current = await tx.stockLevel.findUnique({ where: { branchId_productId: key } });
    if (!row || !current) throw new NotFoundError('StockLevel', `${key.branchId}/${key.productId}`);
    if (current.version !== input.expectedVersion) {
      throw await conflictError(
        tx,
        'StockLevel',
        'stock_levels',
        current,
        { quantity: input.counted },
        input.expectedVersion,
      );
    }
    const delta = input.counted - row.quantity;
    // Decided on the locked quantity: a clerk's count may move it by CLERK_MAX_STOCK_CHANGE at most.
    assertStockChangeAllowed(viewer, 'count', delta, ctx.accounts.clerkMaxStockChange);
    const move = { ...key, kind: 'COUNT' as const, delta, reason: `Counted ${input.counted}` };
    return (await applyMovements(tx, viewer, locked, [move]))[0];
  });
}

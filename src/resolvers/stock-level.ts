/** Stock levels: lists per visible branch, and reorder levels (a versioned field edit). */
import { z } from 'zod';
import { assertBranchVisible, assertCan, scope } from '../auth/access.ts';
import type { Context } from '../context.ts';
import type { Prisma, StockLevel } from '../generated/prisma/client.ts';
import { type PageArgs, readPage } from './page.ts';
import { writeTx } from './tx.ts';
import { id, nonNegativeQuantity, parse, version } from './validate.ts';
import { versionedUpdate } from './versioned.ts';
import { requireViewer } from './viewer.ts';

export interface ListStockLevelsArgs extends PageArgs {
  branchId?: string | null;
  lowStockOnly?: boolean | null;
}

export function listStockLevels(query: Record<string, unknown>, args: ListStockLevelsArgs, ctx: Context) {
  const viewer = requireViewer(ctx);
  const branchId = parse(id.nullish(), args.branchId);
  const where: Prisma.StockLevelWhereInput = {
    AND: [
      scope.stockLevel(viewer),
      branchId ? { branchId } : {},
      args.lowStockOnly ? { quantity: { lte: ctx.db.prisma.stockLevel.fields.reorderLevel } } : {},
    ],
  };
  return readPage(ctx, args, (tx, window) =>
    tx.stockLevel.findMany({
      ...query,
      where,
      orderBy: [{ branchId: 'asc' }, { productId: 'asc' }],
      ...window,
    }),
  );
}

const reorderInput = z.object({
  branchId: id,
  productId: id,
  expectedVersion: version,
  reorderLevel: nonNegativeQuantity,
});

export interface SetReorderLevelArgs {
  branchId: string;
  productId: string;
  expectedVersion: number;
  reorderLevel: number;
  idempotencyKey?: string | null;
}

export function setReorderLevel(args: SetReorderLevelArgs, ctx: Context): Promise<StockLevel> {
  const viewer = requireViewer(ctx);
  const { idempotencyKey, ...request } = args;
  const input = parse(reorderInput, request);
  assertBranchVisible(viewer, input.branchId);
  assertCan(viewer, 'editReorderLevels');
  const where = { branchId: input.branchId, productId: input.productId };
  return writeTx(ctx, { operation: 'setReorderLevel', args: request, idempotencyKey }, (tx) =>
    versionedUpdate(tx, {
      model: 'StockLevel',
      table: 'stock_levels',
      id: `${input.branchId}/${input.productId}`,
      expectedVersion: input.expectedVersion,
      patch: { reorderLevel: input.reorderLevel },
      write: async () =>
        (
          await tx.stockLevel.updateMany({
            where: { ...where, version: input.expectedVersion },
            data: { reorderLevel: input.reorderLevel },
          })
        ).count,
      load: () => tx.stockLevel.findUnique({ where: { branchId_productId: where } }),
    }),
  );
}

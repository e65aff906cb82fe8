/**
 * placeOrder: one transaction that locks the stock rows of the lines (fixed order), checks every
 * line against the locked quantities (InsufficientStock, nothing written), takes the next order
 * number by incrementing the branch's order_counters row (its row lock serializes numbering per
 * branch; a rolled-back order gives its number back, so numbers are gap-free), then writes the
 * order, its items (unit price copied from the product as decimals) and the SALE movements.
 */
import { z } from 'zod';
import { assertBranchVisible, assertCan } from '../auth/access.ts';
import type { Context } from '../context.ts';
import { InsufficientStockError, NotFoundError, ValidationError } from '../errors.ts';
import { type Order, Prisma } from '../generated/prisma/client.ts';
import { applyMovements, lockStock } from './stock-lock.ts';
import { writeTx } from './tx.ts';
import { id, LIMITS, parse, quantity } from './validate.ts';
import { requireViewer } from './viewer.ts';

const placeInput = z.object({
  branchId: id,
  customerId: id.nullish(),
  items: z
    .array(z.object({ productId: id, quantity }))
    .min(1, 'an order needs at least one item')
    .max(LIMITS.maxOrderItems, `at most ${LIMITS.maxOrderItems} items`),
});

export interface PlaceOrderArgs {
  input: { branchId: string; customerId?: string | null; items: { productId: string; quantity: number }[] };
  idempotencyKey?: string | null;
}

export function placeOrder(args: PlaceOrderArgs, ctx: Context): Promise<Order> {
  const viewer = requireViewer(ctx);
  const input = parse(placeInput, args.input);
  assertBranchVisible(viewer, input.branchId);
  assertCan(viewer, 'sell');
  // Lines of the same product are merged into one.
  const lines = new Map<string, number>();
  for (const item of input.items) lines.set(item.productId, (lines.get(item.productId) ?? 0) + item.quantity);
  for (const [productId, q] of lines) {
    if (q > LIMITS.maxQuantity) {
      throw new ValidationError('Quantity too large', [
        { path: ['items'], message: `${productId}: more than ${LIMITS.maxQuantity}` },
      ]);
    }
  }

  return writeTx(
    ctx,
    { operation: 'placeOrder', args: args.input, idempotencyKey: args.idempotencyKey },
    async (tx) => {
      const branch = await tx.branch.findUnique({
        where: { id: input.branchId },
        select: { code: true, active: true },
      });
      if (!branch) throw new NotFoundError('Branch', input.branchId);
      if (!branch.active)
        throw new ValidationError('Branch is archived', [{ path: ['branchId'], message: 'is archived' }]);
      if (input.customerId) {
        const customer = await tx.customer.findUnique({
          where: { id: input.customerId },
          select: { active: true },
        });
        if (!customer?.active) throw new NotFoundError('Customer', input.customerId);
      }
      const products = await tx.product.findMany({
        where: { id: { in: [...lines.keys()] } },
        select: { id: true, unitPrice: true, active: true },
      });
      const byId = new Map(products.map((p) => [p.id, p]));
      for (const productId of lines.keys()) {
        const p = byId.get(productId);
        if (!p) throw new NotFoundError('Product', productId);
        if (!p.active)
          throw new ValidationError('Product is archived', [
            { path: ['items'], message: `${productId} is archived` },
          ]);
      }

      const keys = [...lines.keys()].map((productId) => ({ branchId: input.branchId, productId }));
      const locked = await lockStock(tx, keys);
      // Check every line before numbering, so a refused sale does not even touch the counter.
      for (const { productId } of keys) {
        const available = locked.get(`${input.branchId}:${productId}`)?.quantity ?? 0;
        const requested = lines.get(productId) as number;
        if (available < requested)
          throw new InsufficientStockError(productId, input.branchId, requested, available);
      }

      await tx.$executeRaw`INSERT INTO order_counters (branch_id) VALUES (${input.branchId}::uuid) ON CONFLICT DO NOTHING`;
      const [{ last_seq: seq }] = await tx.$queryRaw<{ last_seq: number }[]>`
      UPDATE order_counters SET last_seq = last_seq + 1 WHERE branch_id = ${input.branchId}::uuid RETURNING last_seq`;

      const items = [...lines].map(([productId, q]) => {
        const unitPrice = (byId.get(productId) as { unitPrice: Prisma.Decimal }).unitPrice;
        return { productId, quantity: q, unitPrice, lineTotal: unitPrice.mul(q) };
      });
      const total = items.reduce((sum, i) => sum.add(i.lineTotal), new Prisma.Decimal(0));
      const order = await tx.order.create({
        data: {
          branchId: input.branchId,
          seq,
          number: `${branch.code}-${String(seq).padStart(6, '0')}`,
          customerId: input.customerId ?? null,
          status: 'PLACED',
          total,
          itemCount: items.reduce((n, i) => n + i.quantity, 0),
          placedAt: new Date(),
          items: { createMany: { data: items.map((i) => ({ ...i, branchId: input.branchId })) } },
        },
      });
      await applyMovements(
        tx,
        viewer,
        locked,
        items.map((i) => ({
          branchId: input.branchId,
          productId: i.productId,
          kind: 'SALE',
          delta: -i.quantity,
          orderId: order.id,
        })),
      );
      return order;
    },
  );
}

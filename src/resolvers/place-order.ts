/**
 * placeOrder: one transaction that locks the stock rows of the lines (fixed order), checks every
 * line against the locked quantities (InsufficientStock, nothing written), takes the next order
 * number by incrementing the branch's order_counters row (its row lock serializes numbering per
 * branch; a rolled-back order gives its number back, so numbers are gap-free), then writes the
 * order, its items and the SALE movements.
 *
 * A sale made on a device (issue 13) carries when it was made (`soldAt`, see sale-prices.ts) and
 * the unit prices the till showed: each line records the catalogue price on arrival, the shown
 * price and the price charged (OFFLINE_PRICE_POLICY decides when they differ). A `payment` is taken
 * in the same transaction, so the sale and its payment are placed, refused or replayed (same
 * idempotencyKey) as one: the customer pays what the till asked for (the shown prices); when that
 * covers the total the order is PAID at once, otherwise it stays PLACED with the balance due.
 */
import { z } from 'zod';
import { assertBranchVisible, assertCan } from '../auth/access.ts';
import type { Context } from '../context.ts';
import { InsufficientStockError, NotFoundError, ValidationError } from '../errors.ts';
import { type Order, Prisma } from '../generated/prisma/client.ts';
import { type PaymentInput, type PaymentPlan, paymentInput, planPayment, recordPayment } from './payment.ts';
import { priceLines, saleTime } from './sale-prices.ts';
import { applyMovements, lockStock } from './stock-lock.ts';
import { writeTx } from './tx.ts';
import { id, LIMITS, parse, price, quantity } from './validate.ts';
import { requireViewer } from './viewer.ts';

const placeInput = z.object({
  branchId: id,
  customerId: id.nullish(),
  soldAt: z.date().nullish(),
  payment: paymentInput.nullish(),
  items: z
    .array(z.object({ productId: id, quantity, shownUnitPrice: price.nullish() }))
    .min(1, 'an order needs at least one item')
    .max(LIMITS.maxOrderItems, `at most ${LIMITS.maxOrderItems} items`),
});

export interface PlaceOrderArgs {
  input: {
    branchId: string;
    customerId?: string | null;
    /** When the sale was made on the device (default: when it arrives). */
    soldAt?: Date | null;
    items: { productId: string; quantity: number; shownUnitPrice?: string | null }[];
    payment?: PaymentInput | null;
  };
  idempotencyKey?: string | null;
}

export function placeOrder(args: PlaceOrderArgs, ctx: Context): Promise<Order> {
  const viewer = requireViewer(ctx);
  const input = parse(placeInput, args.input);
  assertBranchVisible(viewer, input.branchId);
  assertCan(viewer, 'sell');
  // Lines of the same product are merged into one (they must show the same price).
  const lines = new Map<string, number>();
  const shown = new Map<string, string | null>();
  for (const item of input.items) {
    lines.set(item.productId, (lines.get(item.productId) ?? 0) + item.quantity);
    const seen = item.shownUnitPrice ?? null;
    const before = shown.get(item.productId) ?? null;
    if (before !== null && seen !== null && !new Prisma.Decimal(before).eq(seen)) {
      throw new ValidationError('One product shown at two prices', [
        { path: ['items'], message: `${item.productId}: shown at ${before} and ${seen}` },
      ]);
    }
    shown.set(item.productId, before ?? seen);
  }
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
      // Decided inside the transaction, after the idempotency check: a replay returns its first
      // result even when its soldAt has since become too old.
      const now = new Date();
      const soldAt = saleTime(input.soldAt, now);
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

      const items = await priceLines(
        tx,
        [...lines].map(([productId, q]) => ({ productId, quantity: q, shown: shown.get(productId) ?? null })),
        new Map(products.map((p) => [p.id, p.unitPrice])),
        soldAt,
        ctx.sales.pricePolicy,
      );
      const total = items.reduce((sum, i) => sum.add(i.lineTotal), new Prisma.Decimal(0));
      // The customer pays what the till asked for: the shown prices (the charged ones where none).
      const asked = items.reduce(
        (sum, i) => sum.add((i.shownUnitPrice ?? i.unitPrice).mul(i.quantity)),
        new Prisma.Decimal(0),
      );
      const payment: PaymentPlan | null = input.payment
        ? planPayment(input.payment, asked, input.customerId ?? null, ['input', 'payment'])
        : null;
      const paid = payment?.amount.gte(total) ?? false;

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

      const order = await tx.order.create({
        data: {
          branchId: input.branchId,
          seq,
          number: `${branch.code}-${String(seq).padStart(6, '0')}`,
          customerId: input.customerId ?? null,
          status: paid ? 'PAID' : 'PLACED',
          total,
          itemCount: items.reduce((n, i) => n + i.quantity, 0),
          soldAt,
          placedAt: now,
          paidAt: paid ? now : null,
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
      if (payment) await recordPayment(tx, viewer, order, payment);
      return order;
    },
  );
}

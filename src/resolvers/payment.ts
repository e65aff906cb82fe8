/**
 * Payments and refunds of orders: an append-only ledger (`payments`), written in the transaction
 * that places, pays or cancels the order, so a payment is idempotent together with its order.
 *
 * - CASH: `tendered` (the exact amount when not given) must cover the amount; the change is
 *   tendered minus amount.
 * - CARD, OTHER: no tendered amount.
 * - ACCOUNT: charged to the order's customer; an order without a customer cannot be put on account.
 * - A cancelled order with payments gets one REFUND row per method (negative amount).
 */
import { z } from 'zod';
import type { Viewer } from '../auth/viewer.ts';
import { ValidationError } from '../errors.ts';
import { type PaymentMethod, Prisma } from '../generated/prisma/client.ts';
import type { Tx } from './tx.ts';
import { price } from './validate.ts';

export const paymentInput = z.object({
  method: z.enum(['CASH', 'CARD', 'ACCOUNT', 'OTHER']),
  tendered: price.nullish(),
});

export type PaymentInput = z.infer<typeof paymentInput>;

export interface PaymentPlan {
  method: PaymentMethod;
  amount: Prisma.Decimal;
  tendered: Prisma.Decimal | null;
  change: Prisma.Decimal | null;
  customerId: string | null;
}

/** Checks a payment of `amount` (what the customer is asked for) before anything is written. */
export function planPayment(
  payment: PaymentInput,
  amount: Prisma.Decimal,
  customerId: string | null,
  path: string[] = ['payment'],
): PaymentPlan {
  if (payment.method !== 'CASH' && payment.tendered != null) {
    throw new ValidationError('Only a cash payment has an amount tendered', [
      { path: [...path, 'tendered'], message: 'is only for CASH' },
    ]);
  }
  if (payment.method === 'ACCOUNT' && !customerId) {
    throw new ValidationError('A payment on account needs the order to have a customer', [
      { path: [...path, 'method'], message: 'ACCOUNT needs a customer' },
    ]);
  }
  if (payment.method !== 'CASH') {
    return {
      method: payment.method,
      amount,
      tendered: null,
      change: null,
      customerId: payment.method === 'ACCOUNT' ? customerId : null,
    };
  }
  const tendered = payment.tendered == null ? amount : new Prisma.Decimal(payment.tendered);
  if (tendered.lt(amount)) {
    throw new ValidationError(`Cash tendered ${tendered.toFixed(2)} is less than ${amount.toFixed(2)} due`, [
      { path: [...path, 'tendered'], message: `is less than the ${amount.toFixed(2)} due` },
    ]);
  }
  return { method: 'CASH', amount, tendered, change: tendered.sub(amount), customerId: null };
}

export async function recordPayment(
  tx: Tx,
  viewer: Viewer,
  order: { id: string; branchId: string },
  plan: PaymentPlan,
): Promise<void> {
  await tx.payment.create({
    data: { orderId: order.id, branchId: order.branchId, kind: 'PAYMENT', actorId: viewer.userId, ...plan },
  });
}

/** What has been paid on an order so far (payments minus refunds). */
export async function amountPaid(tx: Tx, orderId: string): Promise<Prisma.Decimal> {
  const { _sum } = await tx.payment.aggregate({ where: { orderId }, _sum: { amount: true } });
  return _sum.amount ?? new Prisma.Decimal(0);
}

/** Refunds everything paid on a cancelled order: one REFUND per method still in credit. */
export async function refundPayments(
  tx: Tx,
  viewer: Viewer,
  order: { id: string; branchId: string },
): Promise<void> {
  const byMethod = await tx.payment.groupBy({
    by: ['method', 'customerId'],
    where: { orderId: order.id },
    _sum: { amount: true },
  });
  const refunds = byMethod
    .filter((g) => g._sum.amount?.gt(0))
    .map((g) => ({
      orderId: order.id,
      branchId: order.branchId,
      kind: 'REFUND' as const,
      method: g.method,
      amount: (g._sum.amount as Prisma.Decimal).neg(),
      customerId: g.customerId,
      actorId: viewer.userId,
    }));
  if (refunds.length > 0) await tx.payment.createMany({ data: refunds });
}

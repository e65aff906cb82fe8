/**
 * Orders: lists and reads limited to visible branches; payOrder and cancelOrder are versioned
 * status changes (cancelOrder also returns the stock as RETURN movements and refunds what was
 * paid, payOrder records the payment of the balance, each in the same transaction). Lists are
 * ordered and filtered by the time of sale (soldAt). placeOrder lives in place-order.ts.
 */
import { z } from 'zod';
import { assertCan, assertCanCancel, can, scope } from '../auth/access.ts';
import type { Viewer } from '../auth/viewer.ts';
import type { Context } from '../context.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { Order, OrderStatus, Prisma } from '../generated/prisma/client.ts';
import { type PageArgs, readPage } from './page.ts';
import {
  amountPaid,
  type PaymentInput,
  paymentInput,
  planPayment,
  recordPayment,
  refundPayments,
} from './payment.ts';
import { applyMovements, ensureStockRows, lockStock } from './stock-lock.ts';
import { type Tx, writeTx } from './tx.ts';
import { id, parse, version } from './validate.ts';
import { conflictError } from './versioned.ts';
import { requireViewer } from './viewer.ts';

type Query = Record<string, unknown>;

export interface ListOrdersArgs extends PageArgs {
  branchId?: string | null;
  status?: OrderStatus | null;
  customerId?: string | null;
  from?: Date | null;
  to?: Date | null;
}

export function listOrders(query: Query, args: ListOrdersArgs, ctx: Context) {
  const viewer = requireViewer(ctx);
  const branchId = parse(id.nullish(), args.branchId);
  const customerId = parse(id.nullish(), args.customerId);
  const where: Prisma.OrderWhereInput = {
    AND: [
      scope.order(viewer),
      branchId ? { branchId } : {},
      args.status ? { status: args.status } : {},
      customerId ? { customerId } : {},
      args.from ? { soldAt: { gte: args.from } } : {},
      args.to ? { soldAt: { lt: args.to } } : {},
    ],
  };
  return readPage(ctx, args, (tx, window) =>
    tx.order.findMany({ ...query, where, orderBy: [{ soldAt: 'desc' }, { id: 'desc' }], ...window }),
  );
}

export function getOrder(query: Query, orderId: string, ctx: Context) {
  const viewer = requireViewer(ctx);
  if (!id.safeParse(orderId).success) return null;
  return ctx.db.prisma.order.findFirst({ ...query, where: { AND: [{ id: orderId }, scope.order(viewer)] } });
}

const statusInput = z.object({ id, expectedVersion: version });
type StatusArgs = { id: string; expectedVersion: number; idempotencyKey?: string | null };

/**
 * Moves a visible order from one of `from` to `to` if it is still at expectedVersion: one
 * conditional UPDATE. Otherwise explains why: NotFound, VersionConflict or a ValidationError.
 */
async function changeStatus(
  tx: Tx,
  viewer: Viewer,
  orderId: string,
  expectedVersion: number,
  from: OrderStatus[],
  to: OrderStatus,
  /** Whether the viewer may move an order of this status (a refusal is thrown). */
  allowed: (status: OrderStatus) => void = () => {},
) {
  const now = new Date();
  const stamp = to === 'PAID' ? { paidAt: now } : to === 'CANCELLED' ? { cancelledAt: now } : {};
  const where = { AND: [{ id: orderId }, scope.order(viewer)] };
  const { count } = await tx.order.updateMany({
    where: { AND: [...where.AND, { version: expectedVersion, status: { in: from } }] },
    data: { status: to, ...stamp },
  });
  const order = await tx.order.findFirst({ where });
  if (!order) throw new NotFoundError('Order', orderId);
  if (count === 1) return order;
  if (order.version !== expectedVersion) {
    throw await conflictError(tx, 'Order', 'orders', order, { status: to }, expectedVersion);
  }
  allowed(order.status);
  throw new ValidationError(`Order is ${order.status}`, [
    { path: ['id'], message: `is ${order.status}, expected ${from.join(' or ')}` },
  ]);
}

const payInput = statusInput.extend({ payment: paymentInput.nullish() });

/**
 * Pays the balance of a PLACED order: records a payment of what is still due (method OTHER when
 * no payment is given) and marks it PAID, in one transaction.
 */
export function payOrder(args: StatusArgs & { payment?: PaymentInput | null }, ctx: Context): Promise<Order> {
  const viewer = requireViewer(ctx);
  const { idempotencyKey, ...request } = args;
  const input = parse(payInput, request);
  assertCan(viewer, 'sell');
  return writeTx(ctx, { operation: 'payOrder', args: request, idempotencyKey }, async (tx) => {
    const order = await changeStatus(tx, viewer, input.id, input.expectedVersion, ['PLACED'], 'PAID');
    const due = order.total.sub(await amountPaid(tx, order.id));
    if (due.gt(0)) {
      const payment = input.payment ?? { method: 'OTHER' as const };
      await recordPayment(tx, viewer, order, planPayment(payment, due, order.customerId));
    }
    return order;
  });
}

export function cancelOrder(args: StatusArgs, ctx: Context): Promise<Order> {
  const viewer = requireViewer(ctx);
  const { idempotencyKey, ...request } = args;
  const input = parse(statusInput, request);
  assertCan(viewer, 'sell');
  return writeTx(ctx, { operation: 'cancelOrder', args: request, idempotencyKey }, async (tx) => {
    // The conditional UPDATE locks the order row first: a concurrent cancel waits, then fails.
    // A clerk cancels only unpaid orders: a paid one (a refund) is Forbidden, decided by the same
    // conditional UPDATE, so a payment racing the cancel cannot slip through.
    const refund = can(viewer, 'overrideLimits');
    const order = await changeStatus(
      tx,
      viewer,
      input.id,
      input.expectedVersion,
      refund ? ['PLACED', 'PAID'] : ['PLACED'],
      'CANCELLED',
      (status) => assertCanCancel(viewer, status),
    );
    const items = await tx.orderItem.findMany({
      where: { orderId: order.id },
      select: { productId: true, quantity: true },
    });
    const keys = items.map((i) => ({ branchId: order.branchId, productId: i.productId }));
    await ensureStockRows(tx, keys);
    const locked = await lockStock(tx, keys);
    await applyMovements(
      tx,
      viewer,
      locked,
      items.map((i) => ({
        branchId: order.branchId,
        productId: i.productId,
        kind: 'RETURN',
        delta: i.quantity,
        orderId: order.id,
        reason: 'Order cancelled',
      })),
    );
    await refundPayments(tx, viewer, order);
    return order;
  });
}

import { builder } from '../builder.ts';
import {
  ForbiddenError,
  IdempotencyKeyReusedError,
  InsufficientStockError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { OrderStatus } from '../generated/prisma/enums.ts';
import { cancelOrder, getOrder, listOrders, payOrder } from '../resolvers/order.ts';
import { placeOrder } from '../resolvers/place-order.ts';
import { asQueryResult, connectionType, nodeQuery } from './connection.ts';
import { PaymentInputRef } from './payment.ts';

const OrderStatusEnum = builder.enumType(OrderStatus, { name: 'OrderStatus' });

export const OrderItemRef = builder.prismaObject('OrderItem', {
  fields: (t) => ({
    id: t.exposeID('id'),
    productId: t.exposeID('productId'),
    product: t.relation('product'),
    quantity: t.exposeInt('quantity'),
    unitPrice: t.expose('unitPrice', { type: 'Decimal', description: 'The price charged.' }),
    lineTotal: t.expose('lineTotal', { type: 'Decimal' }),
    shownUnitPrice: t.expose('shownUnitPrice', {
      type: 'Decimal',
      nullable: true,
      description: 'The unit price the till showed (null when the client sent none).',
    }),
    listUnitPrice: t.expose('listUnitPrice', {
      type: 'Decimal',
      nullable: true,
      description: 'The catalogue price when the order reached the server.',
    }),
    priceChanged: t.boolean({
      description:
        'The till showed another price than the catalogue had when the sale arrived (changed while offline).',
      resolve: (i) => priceChanged(i),
    }),
  }),
});

const priceChanged = (i: { shownUnitPrice: Prisma.Decimal | null; listUnitPrice: Prisma.Decimal | null }) =>
  i.shownUnitPrice !== null && i.listUnitPrice !== null && !i.shownUnitPrice.eq(i.listUnitPrice);

export const OrderRef = builder.prismaObject('Order', {
  fields: (t) => ({
    id: t.exposeID('id'),
    number: t.exposeString('number', {
      description: 'Per branch, sequential and gap-free: <BRANCH CODE>-000001.',
    }),
    branchId: t.exposeID('branchId'),
    branch: t.relation('branch'),
    customerId: t.exposeID('customerId', { nullable: true }),
    customer: t.relation('customer', { nullable: true }),
    status: t.expose('status', { type: OrderStatusEnum }),
    total: t.expose('total', { type: 'Decimal' }),
    itemCount: t.exposeInt('itemCount'),
    items: t.relation('items', { query: { orderBy: { id: 'asc' } } }),
    payments: t.relation('payments', {
      description: 'Payments and refunds, oldest first.',
      query: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
    }),
    amountPaid: t.field({
      type: 'Decimal',
      description: 'Payments minus refunds.',
      select: { payments: { select: { amount: true } } },
      resolve: (o) => paidOf(o.payments).toFixed(2),
    }),
    balanceDue: t.field({
      type: 'Decimal',
      description: 'What the customer still owes (negative: owed to the customer); 0 for a cancelled order.',
      select: { total: true, status: true, payments: { select: { amount: true } } },
      resolve: (o) => (o.status === 'CANCELLED' ? '0.00' : o.total.sub(paidOf(o.payments)).toFixed(2)),
    }),
    priceChanged: t.boolean({
      description: 'A line was sold at a price that had changed while the till was offline (see items).',
      select: { items: { select: { shownUnitPrice: true, listUnitPrice: true } } },
      resolve: (o) => o.items.some(priceChanged),
    }),
    soldAt: t.expose('soldAt', {
      type: 'DateTime',
      description: 'When the sale was made, on the device (reports and the dashboard use it).',
    }),
    placedAt: t.expose('placedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the order reached the server.',
    }),
    paidAt: t.expose('paidAt', { type: 'DateTime', nullable: true }),
    cancelledAt: t.expose('cancelledAt', { type: 'DateTime', nullable: true }),
    version: t.exposeInt('version'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    updatedBy: t.exposeString('updatedBy', { nullable: true }),
  }),
});

const paidOf = (payments: { amount: Prisma.Decimal }[]) =>
  payments.reduce((sum, p) => sum.add(p.amount), new Prisma.Decimal(0));

const OrderConnection = connectionType('Order', OrderRef);

builder.queryFields((t) => ({
  orders: t.field({
    type: OrderConnection,
    description: 'Orders of the visible branches, the latest sale first.',
    args: {
      branchId: t.arg.id(),
      status: t.arg({ type: OrderStatusEnum }),
      customerId: t.arg.id(),
      from: t.arg({ type: 'DateTime', description: 'Sold at or after.' }),
      to: t.arg({ type: 'DateTime', description: 'Sold before.' }),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: (_root, args, ctx, info) =>
      asQueryResult(() =>
        listOrders(
          nodeQuery(ctx, info),
          { ...args, branchId: args.branchId?.toString(), customerId: args.customerId?.toString() },
          ctx,
        ),
      ),
  }),
  order: t.prismaField({
    type: 'Order',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => getOrder(query, String(args.id), ctx),
  }),
}));

const OrderItemInput = builder.inputType('OrderItemInput', {
  fields: (t) => ({
    productId: t.id({ required: true }),
    quantity: t.int({ required: true }),
    shownUnitPrice: t.field({
      type: 'Decimal',
      description:
        'The unit price the till showed. Charged when it differs from the current one and OFFLINE_PRICE_POLICY is `shown` (the product must have had it in the 7 days before the sale).',
    }),
  }),
});

const PlaceOrderInput = builder.inputType('PlaceOrderInput', {
  fields: (t) => ({
    branchId: t.id({ required: true }),
    customerId: t.id(),
    items: t.field({ type: [OrderItemInput], required: true, description: '1 to 200 lines.' }),
    soldAt: t.field({
      type: 'DateTime',
      description:
        'When the sale was made on the device: at most 7 days ago; up to 5 minutes ahead of the server counts as now. Default: when the order arrives.',
    }),
    payment: t.field({
      type: PaymentInputRef,
      description: 'Taken in the same step: the order is PAID when it covers the total.',
    }),
  }),
});

const statusErrors = [
  NotFoundError,
  VersionConflictError,
  ValidationError,
  ForbiddenError,
  IdempotencyKeyReusedError,
];

builder.mutationFields((t) => ({
  placeOrder: t.field({
    type: OrderRef,
    errors: {
      types: [
        NotFoundError,
        InsufficientStockError,
        ValidationError,
        ForbiddenError,
        IdempotencyKeyReusedError,
      ],
    },
    args: { input: t.arg({ type: PlaceOrderInput, required: true }), idempotencyKey: t.arg.string() },
    resolve: (_root, { input, idempotencyKey }, ctx) =>
      placeOrder(
        {
          idempotencyKey,
          input: {
            branchId: String(input.branchId),
            customerId: input.customerId == null ? input.customerId : String(input.customerId),
            soldAt: input.soldAt,
            payment: input.payment,
            items: input.items.map((i) => ({
              productId: String(i.productId),
              quantity: i.quantity,
              shownUnitPrice: i.shownUnitPrice,
            })),
          },
        },
        ctx,
      ),
  }),
  payOrder: t.field({
    type: OrderRef,
    description: 'Pays the balance of a PLACED order (recorded as `payment`, else as OTHER).',
    errors: { types: statusErrors },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      payment: t.arg({ type: PaymentInputRef }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => payOrder({ ...args, id: String(args.id) }, ctx),
  }),
  cancelOrder: t.field({
    type: OrderRef,
    description:
      'Cancels a PLACED or PAID order, returns its stock (RETURN movements) and refunds what was paid.',
    errors: { types: statusErrors },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => cancelOrder({ ...args, id: String(args.id) }, ctx),
  }),
}));

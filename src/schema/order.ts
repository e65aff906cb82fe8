import { builder } from '../builder.ts';
import {
  ForbiddenError,
  IdempotencyKeyReusedError,
  InsufficientStockError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import { OrderStatus } from '../generated/prisma/enums.ts';
import { cancelOrder, getOrder, listOrders, payOrder } from '../resolvers/order.ts';
import { placeOrder } from '../resolvers/place-order.ts';
import { asQueryResult, connectionType, nodeQuery } from './connection.ts';

const OrderStatusEnum = builder.enumType(OrderStatus, { name: 'OrderStatus' });

export const OrderItemRef = builder.prismaObject('OrderItem', {
  fields: (t) => ({
    id: t.exposeID('id'),
    productId: t.exposeID('productId'),
    product: t.relation('product'),
    quantity: t.exposeInt('quantity'),
    unitPrice: t.expose('unitPrice', { type: 'Decimal', description: 'The price at the time of sale.' }),
    lineTotal: t.expose('lineTotal', { type: 'Decimal' }),
  }),
});

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
    placedAt: t.expose('placedAt', { type: 'DateTime', nullable: true }),
    paidAt: t.expose('paidAt', { type: 'DateTime', nullable: true }),
    cancelledAt: t.expose('cancelledAt', { type: 'DateTime', nullable: true }),
    version: t.exposeInt('version'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    updatedBy: t.exposeString('updatedBy', { nullable: true }),
  }),
});

const OrderConnection = connectionType('Order', OrderRef);

builder.queryFields((t) => ({
  orders: t.field({
    type: OrderConnection,
    description: 'Orders of the visible branches, newest first.',
    args: {
      branchId: t.arg.id(),
      status: t.arg({ type: OrderStatusEnum }),
      from: t.arg({ type: 'DateTime', description: 'Created at or after.' }),
      to: t.arg({ type: 'DateTime', description: 'Created before.' }),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: (_root, args, ctx, info) =>
      asQueryResult(() =>
        listOrders(nodeQuery(ctx, info), { ...args, branchId: args.branchId?.toString() }, ctx),
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
  fields: (t) => ({ productId: t.id({ required: true }), quantity: t.int({ required: true }) }),
});

const PlaceOrderInput = builder.inputType('PlaceOrderInput', {
  fields: (t) => ({
    branchId: t.id({ required: true }),
    customerId: t.id(),
    items: t.field({ type: [OrderItemInput], required: true, description: '1 to 200 lines.' }),
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
            items: input.items.map((i) => ({ productId: String(i.productId), quantity: i.quantity })),
          },
        },
        ctx,
      ),
  }),
  payOrder: t.field({
    type: OrderRef,
    errors: { types: statusErrors },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => payOrder({ ...args, id: String(args.id) }, ctx),
  }),
  cancelOrder: t.field({
    type: OrderRef,
    description: 'Cancels a PLACED or PAID order and returns its stock (RETURN movements).',
    errors: { types: statusErrors },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => cancelOrder({ ...args, id: String(args.id) }, ctx),
  }),
}));

import { builder } from '../builder.ts';
import {
  ForbiddenError,
  IdempotencyKeyReusedError,
  InsufficientStockError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import {
  approveStockRequest,
  cancelStockRequest,
  declineStockRequest,
  inTransit,
  listRequestableBranches,
  listStockRequests,
  receiveStockRequest,
  requestStock,
} from '../resolvers/stock-request.ts';
import { asQueryResult, connectionType, nodeQuery } from './connection.ts';

const StatusEnum = builder.enumType('StockRequestStatus', {
  values: ['REQUESTED', 'DECLINED', 'IN_TRANSIT', 'RECEIVED', 'CANCELLED'] as const,
});

const branchLabel = (b: { code: string; name: string }) => `${b.name} (${b.code})`;

export const StockRequestRef = builder.prismaObject('StockRequest', {
  description:
    'A branch (branchId) asks another (fromBranchId) for stock: REQUESTED, then DECLINED or IN_TRANSIT ' +
    '(approved, shipped: TRANSFER_OUT), then RECEIVED (TRANSFER_IN); or CANCELLED by the asking branch.',
  fields: (t) => ({
    id: t.exposeID('id'),
    branchId: t.exposeID('branchId', { description: 'The asking branch, which receives the stock.' }),
    fromBranchId: t.exposeID('fromBranchId', { description: 'The branch asked, which ships it.' }),
    branchName: t.string({
      select: { branch: { select: { code: true, name: true } } },
      resolve: (r) => branchLabel(r.branch),
    }),
    fromBranchName: t.string({
      select: { fromBranch: { select: { code: true, name: true } } },
      resolve: (r) => branchLabel(r.fromBranch),
    }),
    productId: t.exposeID('productId'),
    product: t.relation('product'),
    quantity: t.exposeInt('quantity', { description: 'The quantity asked for.' }),
    approvedQuantity: t.exposeInt('approvedQuantity', { nullable: true }),
    inTransit: t.int({
      description: 'The quantity shipped and not yet received (approvedQuantity while IN_TRANSIT, else 0).',
      select: { status: true, approvedQuantity: true },
      resolve: (r) => inTransit(r),
    }),
    status: t.field({ type: StatusEnum, resolve: (r) => r.status }),
    note: t.exposeString('note', { nullable: true }),
    responseNote: t.exposeString('responseNote', { nullable: true }),
    version: t.exposeInt('version'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    updatedBy: t.exposeString('updatedBy', { nullable: true }),
  }),
});

const StockRequestConnection = connectionType('StockRequest', StockRequestRef);

const BranchOptionRef = builder
  .objectRef<{ id: string; code: string; name: string }>('BranchOption')
  .implement({
    description: 'A branch one may ask for stock (every signed-in user sees these three fields).',
    fields: (t) => ({ id: t.exposeID('id'), code: t.exposeString('code'), name: t.exposeString('name') }),
  });

builder.queryFields((t) => ({
  stockRequests: t.field({
    type: StockRequestConnection,
    description: 'Requests for stock made by or to a branch the viewer may see, newest first.',
    args: {
      branchId: t.arg.id({ required: true }),
      status: t.arg({ type: StatusEnum }),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: (_root, args, ctx, info) =>
      asQueryResult(() =>
        listStockRequests(nodeQuery(ctx, info), { ...args, branchId: String(args.branchId) }, ctx),
      ),
  }),
  requestableBranches: t.field({
    type: [BranchOptionRef],
    description: 'Every active branch (id, code, name): whom to ask for stock.',
    resolve: (_root, _args, ctx) => listRequestableBranches(ctx),
  }),
}));

const stepErrors = [
  NotFoundError,
  VersionConflictError,
  ValidationError,
  ForbiddenError,
  IdempotencyKeyReusedError,
];

builder.mutationFields((t) => ({
  requestStock: t.field({
    type: StockRequestRef,
    description: 'Asks another branch for stock; managers (of branchId) and admins.',
    errors: { types: [NotFoundError, ValidationError, ForbiddenError, IdempotencyKeyReusedError] },
    args: {
      id: t.arg.id({ description: 'A client-generated UUID (optional).' }),
      branchId: t.arg.id({ required: true, description: 'The asking branch.' }),
      fromBranchId: t.arg.id({ required: true, description: 'The branch asked.' }),
      productId: t.arg.id({ required: true }),
      quantity: t.arg.int({ required: true }),
      note: t.arg.string(),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) =>
      requestStock(
        {
          ...args,
          id: args.id == null ? null : String(args.id),
          branchId: String(args.branchId),
          fromBranchId: String(args.fromBranchId),
          productId: String(args.productId),
        },
        ctx,
      ),
  }),
  approveStockRequest: t.field({
    type: StockRequestRef,
    description:
      'The branch asked ships all (or quantity, part) of a REQUESTED request: TRANSFER_OUT, IN_TRANSIT.',
    errors: { types: [...stepErrors, InsufficientStockError] },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      quantity: t.arg.int(),
      note: t.arg.string(),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => approveStockRequest({ ...args, id: String(args.id) }, ctx),
  }),
  declineStockRequest: t.field({
    type: StockRequestRef,
    description: 'The branch asked declines a REQUESTED request.',
    errors: { types: stepErrors },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      note: t.arg.string(),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => declineStockRequest({ ...args, id: String(args.id) }, ctx),
  }),
  cancelStockRequest: t.field({
    type: StockRequestRef,
    description: 'The asking branch withdraws a REQUESTED request.',
    errors: { types: stepErrors },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => cancelStockRequest({ ...args, id: String(args.id) }, ctx),
  }),
  receiveStockRequest: t.field({
    type: StockRequestRef,
    description: 'The asking branch confirms receipt of an IN_TRANSIT request: TRANSFER_IN, RECEIVED.',
    errors: { types: stepErrors },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => receiveStockRequest({ ...args, id: String(args.id) }, ctx),
  }),
}));

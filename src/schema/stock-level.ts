import { builder } from '../builder.ts';
import {
  ForbiddenError,
  IdempotencyKeyReusedError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import { listStockLevels, setReorderLevel } from '../resolvers/stock-level.ts';
import { asQueryResult, connectionType, nodeQuery } from './connection.ts';

export const StockLevelRef = builder.prismaObject('StockLevel', {
  description: 'Stock of one product at one branch. quantity changes only through movements.',
  fields: (t) => ({
    id: t.exposeID('id'),
    branchId: t.exposeID('branchId'),
    productId: t.exposeID('productId'),
    branch: t.relation('branch'),
    product: t.relation('product'),
    quantity: t.exposeInt('quantity'),
    reorderLevel: t.exposeInt('reorderLevel'),
    lowStock: t.boolean({
      description: 'quantity <= reorderLevel',
      select: { quantity: true, reorderLevel: true },
      resolve: (s) => s.quantity <= s.reorderLevel,
    }),
    version: t.exposeInt('version'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    updatedBy: t.exposeString('updatedBy', { nullable: true }),
  }),
});

const StockLevelConnection = connectionType('StockLevel', StockLevelRef);

builder.queryField('stockLevels', (t) =>
  t.field({
    type: StockLevelConnection,
    description: 'Stock levels of the visible branches (or of one), ordered by branch and product.',
    args: {
      branchId: t.arg.id(),
      lowStockOnly: t.arg.boolean({ description: 'Only rows with quantity <= reorderLevel.' }),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: (_root, args, ctx, info) =>
      asQueryResult(() =>
        listStockLevels(nodeQuery(ctx, info), { ...args, branchId: args.branchId?.toString() }, ctx),
      ),
  }),
);

builder.mutationField('setReorderLevel', (t) =>
  t.field({
    type: StockLevelRef,
    errors: {
      types: [
        NotFoundError,
        VersionConflictError,
        ValidationError,
        ForbiddenError,
        IdempotencyKeyReusedError,
      ],
    },
    args: {
      branchId: t.arg.id({ required: true }),
      productId: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      reorderLevel: t.arg.int({ required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) =>
      setReorderLevel({ ...args, branchId: String(args.branchId), productId: String(args.productId) }, ctx),
  }),
);

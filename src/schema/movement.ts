import { builder } from '../builder.ts';
import {
  ForbiddenError,
  IdempotencyKeyReusedError,
  InsufficientStockError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import { countStock } from '../resolvers/count.ts';
import { adjustStock, receiveStock, type StockTransfer, transferStock } from '../resolvers/movement.ts';
import { StockLevelRef } from './stock-level.ts';

const StockTransferRef = builder.objectRef<StockTransfer>('StockTransfer').implement({
  fields: (t) => ({
    transferId: t.exposeID('transferId', {
      description: 'Shared by the TRANSFER_OUT and TRANSFER_IN movements.',
    }),
    from: t.field({ type: StockLevelRef, resolve: (r) => r.from }),
    to: t.field({ type: StockLevelRef, resolve: (r) => r.to }),
  }),
});

const moveErrors = [
  NotFoundError,
  InsufficientStockError,
  ValidationError,
  ForbiddenError,
  IdempotencyKeyReusedError,
];
const ids = <A extends Record<string, unknown>>(args: A, ...keys: (keyof A)[]) =>
  Object.fromEntries(
    Object.entries(args).map(([k, v]) => [k, keys.includes(k) && v != null ? String(v) : v]),
  ) as never;

builder.mutationFields((t) => ({
  receiveStock: t.field({
    type: StockLevelRef,
    description: 'A delivery: adds quantity (RECEIPT movement).',
    errors: { types: moveErrors },
    args: {
      branchId: t.arg.id({ required: true }),
      productId: t.arg.id({ required: true }),
      quantity: t.arg.int({ required: true }),
      note: t.arg.string(),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => receiveStock(ids(args, 'branchId', 'productId'), ctx),
  }),
  adjustStock: t.field({
    type: StockLevelRef,
    description: 'A correction by delta (ADJUSTMENT movement), e.g. breakage; managers and admins.',
    errors: { types: moveErrors },
    args: {
      branchId: t.arg.id({ required: true }),
      productId: t.arg.id({ required: true }),
      delta: t.arg.int({ required: true }),
      reason: t.arg.string({ required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => adjustStock(ids(args, 'branchId', 'productId'), ctx),
  }),
  transferStock: t.field({
    type: StockTransferRef,
    description: 'Moves quantity between two branches (TRANSFER_OUT + TRANSFER_IN); managers and admins.',
    errors: { types: moveErrors },
    args: {
      fromBranchId: t.arg.id({ required: true }),
      toBranchId: t.arg.id({ required: true }),
      productId: t.arg.id({ required: true }),
      quantity: t.arg.int({ required: true }),
      note: t.arg.string(),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => transferStock(ids(args, 'fromBranchId', 'toBranchId', 'productId'), ctx),
  }),
  countStock: t.field({
    type: StockLevelRef,
    description: 'A stock count: sets quantity to counted (COUNT movement of the difference).',
    errors: { types: [...moveErrors, VersionConflictError] },
    args: {
      branchId: t.arg.id({ required: true }),
      productId: t.arg.id({ required: true }),
      counted: t.arg.int({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => countStock(ids(args, 'branchId', 'productId'), ctx),
  }),
}));

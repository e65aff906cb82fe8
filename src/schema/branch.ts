import { builder } from '../builder.ts';
import {
  ForbiddenError,
  IdempotencyKeyReusedError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import { archiveBranch, createBranch, getBranch, listBranches, updateBranch } from '../resolvers/branch.ts';
import { asQueryResult, connectionType, nodeQuery } from './connection.ts';

export const BranchRef = builder.prismaObject('Branch', {
  description: 'A shop, depot or desk. Its code prefixes its order numbers (DT-000123).',
  fields: (t) => ({
    id: t.exposeID('id'),
    code: t.exposeString('code'),
    name: t.exposeString('name'),
    address: t.exposeString('address', { nullable: true }),
    active: t.exposeBoolean('active'),
    version: t.exposeInt('version'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    updatedBy: t.exposeString('updatedBy', { nullable: true }),
  }),
});

const BranchConnection = connectionType('Branch', BranchRef);

builder.queryFields((t) => ({
  branches: t.field({
    type: BranchConnection,
    description: 'The branches the viewer may see (admins: all), by code.',
    args: { includeInactive: t.arg.boolean(), first: t.arg.int(), after: t.arg.string() },
    resolve: (_root, args, ctx, info) => asQueryResult(() => listBranches(nodeQuery(ctx, info), args, ctx)),
  }),
  branch: t.prismaField({
    type: 'Branch',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => getBranch(query, String(args.id), ctx),
  }),
}));

const CreateBranchInput = builder.inputType('CreateBranchInput', {
  fields: (t) => ({
    id: t.id({ description: 'A client-generated UUID (optional).' }),
    code: t.string({ required: true, description: '1 to 16 letters or digits, stored upper-case.' }),
    name: t.string({ required: true }),
    address: t.string(),
  }),
});

const BranchPatch = builder.inputType('BranchPatch', {
  fields: (t) => ({ code: t.string(), name: t.string(), address: t.string() }),
});

const editErrors = [
  NotFoundError,
  VersionConflictError,
  ValidationError,
  ForbiddenError,
  IdempotencyKeyReusedError,
];

builder.mutationFields((t) => ({
  createBranch: t.field({
    type: BranchRef,
    description: 'Admins only.',
    errors: { types: [ValidationError, ForbiddenError, IdempotencyKeyReusedError] },
    args: { input: t.arg({ type: CreateBranchInput, required: true }), idempotencyKey: t.arg.string() },
    resolve: (_root, args, ctx) =>
      createBranch({ ...args, input: { ...args.input, id: args.input.id?.toString() } }, ctx),
  }),
  updateBranch: t.field({
    type: BranchRef,
    description: 'Admins only.',
    errors: { types: editErrors },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      patch: t.arg({ type: BranchPatch, required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => updateBranch({ ...args, id: String(args.id) }, ctx),
  }),
  archiveBranch: t.field({
    type: BranchRef,
    description: 'Admins only.',
    errors: { types: editErrors },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => archiveBranch({ ...args, id: String(args.id) }, ctx),
  }),
}));

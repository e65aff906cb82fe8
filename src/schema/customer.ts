import { canSeeBranch } from '../auth/access.ts';
import { builder } from '../builder.ts';
import {
  ForbiddenError,
  IdempotencyKeyReusedError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import {
  archiveCustomer,
  createCustomer,
  getCustomer,
  listCustomers,
  updateCustomer,
} from '../resolvers/customer.ts';
import { requireViewer } from '../resolvers/viewer.ts';
import { BranchRef } from './branch.ts';
import { asQueryResult, connectionType, nodeQuery } from './connection.ts';

export const CustomerRef = builder.prismaObject('Customer', {
  description: 'Visible to every signed-in user; edited by managers of its home branch and admins.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    phone: t.exposeString('phone', { nullable: true }),
    email: t.exposeString('email', { nullable: true }),
    homeBranchId: t.id({
      nullable: true,
      description: 'null when none, or when it is a branch the viewer may not see.',
      select: { homeBranchId: true },
      resolve: (c, _args, ctx) =>
        c.homeBranchId && canSeeBranch(requireViewer(ctx), c.homeBranchId) ? c.homeBranchId : null,
    }),
    homeBranch: t.field({
      type: BranchRef,
      nullable: true,
      description: 'null when none, or when it is a branch the viewer may not see.',
      select: (_args, _ctx, nested) => ({ homeBranch: nested() }),
      resolve: (c, _args, ctx) =>
        c.homeBranch && canSeeBranch(requireViewer(ctx), c.homeBranch.id) ? c.homeBranch : null,
    }),
    notes: t.exposeString('notes', { nullable: true }),
    active: t.exposeBoolean('active'),
    version: t.exposeInt('version'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    updatedBy: t.exposeString('updatedBy', { nullable: true }),
  }),
});

const CustomerConnection = connectionType('Customer', CustomerRef);

builder.queryFields((t) => ({
  customers: t.field({
    type: CustomerConnection,
    args: {
      search: t.arg.string({ description: 'Part of the name, email or phone.' }),
      includeArchived: t.arg.boolean(),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: (_root, args, ctx, info) => asQueryResult(() => listCustomers(nodeQuery(ctx, info), args, ctx)),
  }),
  customer: t.prismaField({
    type: 'Customer',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => getCustomer(query, String(args.id), ctx),
  }),
}));

const CreateCustomerInput = builder.inputType('CreateCustomerInput', {
  fields: (t) => ({
    id: t.id({ description: 'A client-generated UUID (optional).' }),
    name: t.string({ required: true }),
    phone: t.string(),
    email: t.string(),
    homeBranchId: t.id(),
    notes: t.string(),
  }),
});

const CustomerPatch = builder.inputType('CustomerPatch', {
  fields: (t) => ({
    name: t.string(),
    phone: t.string(),
    email: t.string(),
    homeBranchId: t.id(),
    notes: t.string(),
  }),
});

const editErrors = [
  NotFoundError,
  VersionConflictError,
  ValidationError,
  ForbiddenError,
  IdempotencyKeyReusedError,
];
const strings = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? String(v) : v])) as never;

builder.mutationFields((t) => ({
  createCustomer: t.field({
    type: CustomerRef,
    errors: { types: [NotFoundError, ValidationError, ForbiddenError, IdempotencyKeyReusedError] },
    args: { input: t.arg({ type: CreateCustomerInput, required: true }), idempotencyKey: t.arg.string() },
    resolve: (_root, args, ctx) => createCustomer({ ...args, input: strings(args.input) }, ctx),
  }),
  updateCustomer: t.field({
    type: CustomerRef,
    errors: { types: editErrors },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      patch: t.arg({ type: CustomerPatch, required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) =>
      updateCustomer({ ...args, id: String(args.id), patch: strings(args.patch) }, ctx),
  }),
  archiveCustomer: t.field({
    type: CustomerRef,
    errors: { types: editErrors },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => archiveCustomer({ ...args, id: String(args.id) }, ctx),
  }),
}));

/**
 * Users: admins manage everyone, managers the clerks of their own branches (src/auth/access.ts).
 * A user the viewer may not manage does not exist for them (NotFound, null, absent from lists).
 */
import { builder } from '../builder.ts';
import {
  ForbiddenError,
  IdempotencyKeyReusedError,
  NotFoundError,
  TooManyAttemptsError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import type { Role } from '../generated/prisma/client.ts';
import {
  createUser,
  getUser,
  listUsers,
  resetPassword,
  type UserWithPassword,
  updateUser,
} from '../resolvers/user.ts';
import { RoleEnum, UserRef } from './auth.ts';
import { asQueryResult, connectionType, nodeQuery } from './connection.ts';

const UserConnection = connectionType('User', UserRef);

const UserWithPasswordRef = builder.objectRef<UserWithPassword>('UserWithPassword').implement({
  description: 'A user and the one-time password they sign in with once, then must change.',
  fields: (t) => ({
    user: t.field({ type: UserRef, resolve: (r) => r.user as never }),
    password: t.exposeString('password', {
      nullable: true,
      description: 'Shown only in this response (null when an idempotencyKey replays it): pass it on now.',
    }),
  }),
});

builder.queryFields((t) => ({
  users: t.field({
    type: UserConnection,
    description:
      'The users you manage, by name: admins all, managers the clerks of their own branches, clerks none.',
    args: {
      search: t.arg.string({ description: 'Part of the name or email.' }),
      includeInactive: t.arg.boolean(),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: (_root, args, ctx, info) => asQueryResult(() => listUsers(nodeQuery(ctx, info), args, ctx)),
  }),
  user: t.prismaField({
    type: 'User',
    nullable: true,
    description: 'A user you manage, or yourself.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => getUser(query, String(args.id), ctx),
  }),
}));

const CreateUserInput = builder.inputType('CreateUserInput', {
  fields: (t) => ({
    id: t.id({ description: 'A client-generated UUID (optional).' }),
    name: t.string({ required: true }),
    email: t.string({ required: true }),
    role: t.field({ type: RoleEnum, required: true }),
    branchIds: t.idList({ required: true, description: 'At least one for a manager or clerk.' }),
  }),
});

const UserPatch = builder.inputType('UserPatch', {
  fields: (t) => ({
    name: t.string(),
    role: t.field({ type: RoleEnum }),
    branchIds: t.idList({ description: 'The complete new list of branches.' }),
    active: t.boolean({ description: 'false: the user can no longer sign in; their sessions end.' }),
  }),
});

const ids = (list: readonly (string | number)[] | null | undefined) => list?.map(String);

builder.mutationFields((t) => ({
  createUser: t.field({
    type: UserWithPasswordRef,
    description:
      'Admins: any user; managers: clerks of their own branches. Returns a one-time password, to be changed at the first sign-in.',
    errors: {
      types: [
        NotFoundError,
        ValidationError,
        ForbiddenError,
        TooManyAttemptsError,
        IdempotencyKeyReusedError,
      ],
    },
    args: { input: t.arg({ type: CreateUserInput, required: true }), idempotencyKey: t.arg.string() },
    resolve: (_root, args, ctx) =>
      createUser(
        {
          ...args,
          input: {
            ...args.input,
            id: args.input.id?.toString(),
            role: args.input.role as Role,
            branchIds: ids(args.input.branchIds) ?? [],
          },
        },
        ctx,
      ),
  }),
  updateUser: t.field({
    type: UserRef,
    description:
      'Name, role, branches and active, with the version you saw. Nobody changes their own role or deactivates themselves.',
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
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      patch: t.arg({ type: UserPatch, required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) =>
      updateUser(
        {
          ...args,
          id: String(args.id),
          patch: {
            ...args.patch,
            role: args.patch.role as Role | null,
            branchIds: ids(args.patch.branchIds),
          },
        },
        ctx,
      ) as never,
  }),
  resetPassword: t.field({
    type: UserWithPasswordRef,
    description:
      'A new one-time password for a user you manage (to be changed at the next sign-in); their sessions end.',
    errors: {
      types: [
        NotFoundError,
        ValidationError,
        ForbiddenError,
        TooManyAttemptsError,
        IdempotencyKeyReusedError,
      ],
    },
    args: { id: t.arg.id({ required: true }), idempotencyKey: t.arg.string() },
    resolve: (_root, args, ctx) => resetPassword({ ...args, id: String(args.id) }, ctx),
  }),
}));

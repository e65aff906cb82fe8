import { canSeeBranch } from '../auth/access.ts';
import { builder } from '../builder.ts';
import {
  AuthenticationFailedError,
  ForbiddenError,
  IdempotencyKeyReusedError,
  NotFoundError,
  TooManyAttemptsError,
  ValidationError,
} from '../errors.ts';
import type { User } from '../generated/prisma/client.ts';
import { Role, TokenKind } from '../generated/prisma/enums.ts';
import { type CreatedApiToken, createApiToken, login, me, revokeApiToken } from '../resolvers/auth.ts';
import { BranchRef } from './branch.ts';

const RoleEnum = builder.enumType(Role, { name: 'Role' });
const TokenKindEnum = builder.enumType(TokenKind, { name: 'TokenKind' });

export const UserRef = builder.prismaObject('User', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    email: t.exposeString('email'),
    role: t.expose('role', { type: RoleEnum }),
    active: t.exposeBoolean('active'),
    branches: t.field({
      type: [BranchRef],
      description: 'The branches assigned to this user (an ADMIN sees all branches regardless).',
      select: (_args, _ctx, nested) => ({ id: true, branches: { include: { branch: nested() } } }),
      // Without a viewer the user is the one who just signed in (login's payload).
      resolve: (u, _args, ctx) =>
        u.branches
          .map((b) => b.branch)
          .filter((b) => !ctx.viewer || ctx.viewer.userId === u.id || canSeeBranch(ctx.viewer, b.id)),
    }),
    version: t.exposeInt('version'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const ApiTokenRef = builder.prismaObject('ApiToken', {
  fields: (t) => ({
    id: t.exposeID('id'),
    userId: t.exposeID('userId'),
    kind: t.expose('kind', { type: TokenKindEnum }),
    name: t.exposeString('name'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const LoginPayload = builder
  .objectRef<{ token: string; user: User; expiresAt: Date }>('LoginPayload')
  .implement({
    fields: (t) => ({
      token: t.exposeString('token', { description: 'Send as `Authorization: Bearer <token>`.' }),
      expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
      user: t.field({ type: UserRef, resolve: (p) => p.user }),
    }),
  });

const CreatedApiTokenRef = builder.objectRef<CreatedApiToken>('CreatedApiToken').implement({
  fields: (t) => ({
    token: t.exposeString('token', {
      nullable: true,
      description: 'The secret, shown only in the first response (null when an idempotencyKey replays it).',
    }),
    apiToken: t.field({ type: ApiTokenRef, resolve: (r) => r.apiToken }),
  }),
});

builder.queryField('me', (t) =>
  t.prismaField({
    type: 'User',
    description: 'The signed-in user.',
    resolve: (query, _root, _args, ctx) => me(query, ctx),
  }),
);

builder.mutationFields((t) => ({
  login: t.field({
    type: LoginPayload,
    description:
      'Starts a session. Safe to repeat (each call makes a new session), so it takes no idempotencyKey. Throttled per account and per client address: after repeated failures, TooManyAttempts until retryAfterSeconds has passed.',
    errors: { types: [AuthenticationFailedError, TooManyAttemptsError] },
    args: { email: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => login(args, ctx),
  }),
  createApiToken: t.field({
    type: CreatedApiTokenRef,
    description: 'Admins: a long-lived token acting as userId (default: yourself).',
    errors: { types: [NotFoundError, ValidationError, ForbiddenError, IdempotencyKeyReusedError] },
    args: {
      name: t.arg.string({ required: true }),
      userId: t.arg.id(),
      expiresAt: t.arg({ type: 'DateTime' }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => createApiToken({ ...args, userId: args.userId?.toString() }, ctx),
  }),
  revokeApiToken: t.field({
    type: ApiTokenRef,
    description: 'Admins: revokes any token (sessions too); it stops working at once.',
    errors: { types: [NotFoundError, ValidationError, ForbiddenError, IdempotencyKeyReusedError] },
    args: { id: t.arg.id({ required: true }), idempotencyKey: t.arg.string() },
    resolve: (_root, args, ctx) => revokeApiToken({ ...args, id: String(args.id) }, ctx),
  }),
}));

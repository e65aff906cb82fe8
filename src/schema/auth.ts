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

export const RoleEnum = builder.enumType(Role, { name: 'Role' });
export const TokenKindEnum = builder.enumType(TokenKind, { name: 'TokenKind' });

export const UserRef = builder.prismaObject('User', {
  // Only the columns a query asks for are read: the password hash never is.
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    email: t.exposeString('email'),
    role: t.expose('role', { type: RoleEnum }),
    active: t.exposeBoolean('active'),
    mustChangePassword: t.exposeBoolean('mustChangePassword', {
      description:
        'Set by createUser and resetPassword: until changePassword, only changePassword, logout and me answer (PASSWORD_CHANGE_REQUIRED).',
    }),
    passwordChangedAt: t.expose('passwordChangedAt', { type: 'DateTime', nullable: true }),
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
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    updatedBy: t.exposeString('updatedBy', { nullable: true }),
  }),
});

export const ApiTokenRef = builder.prismaObject('ApiToken', {
  // Only the columns a query asks for are read: never the token's hash.
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id'),
    userId: t.exposeID('userId'),
    user: t.relation('user', { description: 'The user the token acts as.' }),
    kind: t.expose('kind', { type: TokenKindEnum }),
    name: t.exposeString('name', {
      description: 'API tokens: the name given; sessions: the browser or program and address that signed in.',
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the token was last used, to within about a minute (written at most once a minute).',
    }),
    current: t.boolean({
      description: 'Whether this is the token of the request asking.',
      resolve: (token, _args, ctx) => token.id === ctx.viewer?.tokenId,
    }),
    version: t.exposeInt('version'),
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
    description:
      'Admins: a token acting as userId (default: yourself), valid until expiresAt: at most API_TOKEN_MAX_DAYS (365) days from now, which is also the default.',
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

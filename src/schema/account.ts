/** One's own account (changePassword, logout, sessions) and the admins' list of tokens. */
import { builder } from '../builder.ts';
import {
  AuthenticationFailedError,
  IdempotencyKeyReusedError,
  NotFoundError,
  TooManyAttemptsError,
  ValidationError,
} from '../errors.ts';
import { changePassword, logout, mySessions, revokeSession } from '../resolvers/account.ts';
import { listApiTokens } from '../resolvers/auth.ts';
import { ApiTokenRef, TokenKindEnum, UserRef } from './auth.ts';
import { asQueryResult, connectionType, nodeQuery } from './connection.ts';

const ApiTokenConnection = connectionType('ApiToken', ApiTokenRef);

builder.queryFields((t) => ({
  mySessions: t.prismaField({
    type: ['ApiToken'],
    description: 'Your open sessions (sign-ins), newest first; `current` marks the one asking.',
    resolve: (query, _root, _args, ctx) => mySessions(query, ctx),
  }),
  apiTokens: t.field({
    type: ApiTokenConnection,
    description:
      'Admins: API tokens and sessions, newest first (others get an empty list). Revoked and expired ones only with includeInactive.',
    args: {
      userId: t.arg.id(),
      kind: t.arg({ type: TokenKindEnum }),
      includeInactive: t.arg.boolean(),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: (_root, args, ctx, info) =>
      asQueryResult(() =>
        listApiTokens(nodeQuery(ctx, info), { ...args, userId: args.userId?.toString() }, ctx),
      ),
  }),
}));

builder.mutationFields((t) => ({
  changePassword: t.field({
    type: UserRef,
    description:
      'Sets a new password (at least 10 characters, not your email) after checking the current one, and ends your other sessions. A wrong current password counts as a failed sign-in (TooManyAttempts after repeated failures).',
    errors: {
      types: [AuthenticationFailedError, TooManyAttemptsError, ValidationError, IdempotencyKeyReusedError],
    },
    args: {
      currentPassword: t.arg.string({ required: true }),
      newPassword: t.arg.string({ required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => changePassword(args, ctx),
  }),
  logout: t.field({
    type: ApiTokenRef,
    description: 'Ends the session (or token) this request came with; it stops working at once.',
    errors: { types: [NotFoundError, ValidationError, IdempotencyKeyReusedError] },
    args: { idempotencyKey: t.arg.string() },
    resolve: (_root, args, ctx) => logout(args, ctx),
  }),
  revokeSession: t.field({
    type: ApiTokenRef,
    description: 'Ends one of your own sessions (see mySessions), e.g. on a lost device.',
    errors: { types: [NotFoundError, ValidationError, IdempotencyKeyReusedError] },
    args: { id: t.arg.id({ required: true }), idempotencyKey: t.arg.string() },
    resolve: (_root, args, ctx) => revokeSession({ ...args, id: String(args.id) }, ctx),
  }),
}));

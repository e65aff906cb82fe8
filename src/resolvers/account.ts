/**
 * One's own account: changePassword, logout, mySessions, revokeSession.
 *
 * - changePassword checks the current password like a sign-in does (in a hashing slot, a wrong
 *   one counts as a failed sign-in of the account and address, so a stolen session cannot be used
 *   to guess the password faster than the login form allows), then stores the new one, clears
 *   mustChangePassword and ends the user's other sessions. Passwords never enter the idempotency
 *   fingerprint (it is a plain SHA-256).
 * - logout ends the session (or token) the request came with; revokeSession ends one of one's own
 *   sessions (another's is NotFound).
 * All are write transactions like every other mutation (actor, idempotencyKey, change feed).
 */
import { z } from 'zod';
import { newPasswordSchema } from '../auth/accounts.ts';
import { accountKey } from '../auth/login-guard.ts';
import { hashPassword, verifyPassword } from '../auth/password.ts';
import type { Context } from '../context.ts';
import {
  AuthenticationFailedError,
  NotFoundError,
  TooManyAttemptsError,
  ValidationError,
} from '../errors.ts';
import type { ApiToken, User } from '../generated/prisma/client.ts';
import { idempotencyOf, type Tx, writeTx } from './tx.ts';
import { id, parse } from './validate.ts';
import { requireViewer } from './viewer.ts';

type Key = { idempotencyKey?: string | null };

/** Prisma's `omit` for user rows: the password hash never leaves the database layer. */
export const NO_SECRETS = { passwordHash: true } as const;

/**
 * Runs a password hash in one of the process's hashing slots (src/auth/login-guard.ts), or
 * refuses with TooManyAttempts when they are all taken.
 */
export async function inHashingSlot<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  const running = ctx.loginGuard.hashing(fn);
  if (!running) throw new TooManyAttemptsError(1, 'Too many password checks at once');
  return running;
}

/** Ends the user's open sessions (all, or all but `keep`) in `tx`; returns how many. */
export function endSessions(tx: Tx, userId: string, keep?: string): Promise<number> {
  return tx.$executeRaw`
    UPDATE api_tokens SET revoked_at = now()
     WHERE user_id = ${userId}::uuid AND kind = 'SESSION' AND revoked_at IS NULL
       AND (expires_at IS NULL OR expires_at > now()) AND (id <> ${keep ?? null}::uuid) IS NOT FALSE`;
}

const passwordInput = z.object({ currentPassword: z.string().max(1000), newPassword: z.string() });

export async function changePassword(
  args: { currentPassword: string; newPassword: string } & Key,
  ctx: Context,
): Promise<Omit<User, 'passwordHash'>> {
  const viewer = requireViewer(ctx);
  const op = { operation: 'changePassword', args: {}, idempotencyKey: args.idempotencyKey };
  // A replay of an applied change: the current password is the new one by now, so only the stored
  // result answers (writeTx finds it before running anything). The key is checked first.
  const { key } = idempotencyOf(ctx, op);
  if (key !== null && (await applied(ctx, viewer.userId, key))) {
    return writeTx(ctx, op, () => {
      throw new ValidationError('This change is no longer remembered; send it again without its key');
    });
  }
  const input = parse(passwordInput, args);
  const newPassword = parse(z.object({ newPassword: newPasswordSchema(viewer.email) }), input).newPassword;
  const guard = ctx.loginGuard;
  const account = accountKey(viewer.email);
  const waitMs = guard.waitMs(account, ctx.clientAddress);
  if (waitMs > 0) throw new TooManyAttemptsError(Math.ceil(waitMs / 1000));
  const newHash = await inHashingSlot(ctx, async () => {
    const user = await ctx.db.prisma.user.findUniqueOrThrow({
      where: { id: viewer.userId },
      select: { passwordHash: true },
    });
    if (!(await verifyPassword(input.currentPassword, user.passwordHash))) return null;
    return hashPassword(newPassword);
  });
  if (!newHash) {
    guard.failed(account, ctx.clientAddress);
    ctx.log.info({ module: 'auth', account: account.slice(0, 12) }, 'changePassword: wrong current password');
    throw new AuthenticationFailedError('Your current password is not correct');
  }
  guard.succeeded(account);
  // The fingerprint names no password: a replay with the same key returns the first result.
  return writeTx(ctx, op, async (tx) => {
    const user = await tx.user.update({
      where: { id: viewer.userId },
      data: { passwordHash: newHash, mustChangePassword: false, passwordChangedAt: new Date() },
      omit: NO_SECRETS,
    });
    await endSessions(tx, viewer.userId, viewer.tokenId);
    return user;
  });
}

async function applied(ctx: Context, userId: string, key: string): Promise<boolean> {
  const stored = await ctx.db.prisma.idempotencyKey.findUnique({
    where: { userId_key: { userId, key } },
    select: { key: true },
  });
  return stored !== null;
}

export function logout(args: Key, ctx: Context): Promise<ApiToken> {
  const viewer = requireViewer(ctx);
  return writeTx(ctx, { operation: 'logout', args: {}, idempotencyKey: args.idempotencyKey }, (tx) =>
    revoke(tx, viewer.tokenId, viewer.userId),
  );
}

async function revoke(tx: Tx, tokenId: string, userId: string): Promise<ApiToken> {
  const existing = await tx.apiToken.findFirst({ where: { id: tokenId, userId } });
  if (!existing) throw new NotFoundError('Session', tokenId);
  if (existing.revokedAt) return existing;
  return tx.apiToken.update({ where: { id: tokenId }, data: { revokedAt: new Date() } });
}

export function revokeSession(args: { id: string } & Key, ctx: Context): Promise<ApiToken> {
  const viewer = requireViewer(ctx);
  const tokenId = parse(id, args.id);
  return writeTx(
    ctx,
    { operation: 'revokeSession', args: { id: tokenId }, idempotencyKey: args.idempotencyKey },
    async (tx) => {
      const session = await tx.apiToken.findFirst({
        where: { id: tokenId, userId: viewer.userId, kind: 'SESSION' },
      });
      if (!session) throw new NotFoundError('Session', tokenId);
      return revoke(tx, tokenId, viewer.userId);
    },
  );
}

/** The viewer's open sessions, newest first. */
export function mySessions(query: Record<string, unknown>, ctx: Context) {
  const viewer = requireViewer(ctx);
  return ctx.db.prisma.apiToken.findMany({
    ...query,
    where: {
      userId: viewer.userId,
      kind: 'SESSION',
      revokedAt: null,
      OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }],
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
  });
}

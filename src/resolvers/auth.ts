/**
 * Sign-in and tokens. login checks the scrypt hash and creates a SESSION token (api_tokens row,
 * expiring after SESSION_TTL_HOURS, default 7 days), throttled per account and per client address
 * and with password hashing capped (src/auth/login-guard.ts); admins create and revoke long-lived API
 * tokens. Tokens are shown once; only their SHA-256 is stored (an idempotent replay of
 * createApiToken therefore returns the token's record without the secret).
 */
import { z } from 'zod';
import { assertCan } from '../auth/access.ts';
import { accountKey } from '../auth/login-guard.ts';
import { hashPassword, verifyPassword } from '../auth/password.ts';
import { generateToken, hashToken } from '../auth/tokens.ts';
import type { Context } from '../context.ts';
import { AuthenticationFailedError, NotFoundError, TooManyAttemptsError } from '../errors.ts';
import type { ApiToken, User } from '../generated/prisma/client.ts';
import { writeTx } from './tx.ts';
import { id, name, parse } from './validate.ts';
import { requireViewer } from './viewer.ts';

export const DEFAULT_SESSION_TTL_MS = 7 * 24 * 3_600_000;

/** A hash to compare against when the email is unknown, so both cases take the same time. */
let dummyHash: Promise<string> | undefined;

const loginInput = z.object({
  // No NUL: PostgreSQL text cannot hold one, so the lookup would fail instead of finding nobody.
  email: z
    .string()
    .trim()
    .toLowerCase()
    .max(320)
    .refine((s) => !s.includes('\u0000')),
  password: z.string().max(1000),
});

export async function login(
  args: { email: string; password: string },
  ctx: Context,
): Promise<{ token: string; user: User; expiresAt: Date }> {
  const input = loginInput.safeParse(args);
  if (!input.success) throw new AuthenticationFailedError();
  const guard = ctx.loginGuard;
  const account = accountKey(input.data.email);
  const address = ctx.clientAddress;
  // What was typed as an email is never logged: only a prefix of its hash.
  const log = ctx.log.child({ module: 'auth', account: account.slice(0, 12), address });
  const refuseIfThrottled = () => {
    const waitMs = guard.waitMs(account, address);
    if (waitMs <= 0) return;
    log.debug({ waitMs }, 'login throttled');
    throw new TooManyAttemptsError(Math.ceil(waitMs / 1000));
  };
  refuseIfThrottled();
  const checking = guard.hashing(async () => {
    // Checked again: failures may have come in while this attempt waited for its slot.
    refuseIfThrottled();
    const user = await ctx.db.prisma.user.findUnique({ where: { email: input.data.email } });
    dummyHash ??= hashPassword('not a password');
    const ok = await verifyPassword(input.data.password, user?.passwordHash ?? (await dummyHash));
    return user && ok && user.active ? user : null;
  });
  if (!checking) {
    log.debug('login refused: hashing queue full');
    throw new TooManyAttemptsError(1, 'Too many sign-ins at once');
  }
  const user = await checking;
  if (!user) {
    const delayMs = guard.failed(account, address);
    if (delayMs > 0) log.warn({ delayMs }, 'login refused; further attempts delayed');
    else log.info('login refused');
    throw new AuthenticationFailedError();
  }
  guard.succeeded(account);
  const token = generateToken();
  const expiresAt = new Date(Date.now() + (ctx.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS));
  await ctx.db.prisma.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT set_config('app.actor', ${user.email}, true)`;
    await tx.apiToken.create({
      data: { userId: user.id, kind: 'SESSION', name: 'session', tokenHash: hashToken(token), expiresAt },
    });
  });
  return { token, user, expiresAt };
}

const createTokenInput = z.object({
  name: name(200),
  userId: id.nullish(),
  expiresAt: z
    .date()
    .refine((d) => d.getTime() > Date.now(), 'must be in the future')
    .nullish(),
});

export interface CreatedApiToken {
  /** The secret, shown once (null on an idempotent replay). */
  token: string | null;
  apiToken: ApiToken;
}

export function createApiToken(
  args: { name: string; userId?: string | null; expiresAt?: Date | null; idempotencyKey?: string | null },
  ctx: Context,
): Promise<CreatedApiToken> {
  const viewer = requireViewer(ctx);
  assertCan(viewer, 'manageTokens');
  const { idempotencyKey, ...request } = args;
  const input = parse(createTokenInput, request);
  const userId = input.userId ?? viewer.userId;
  return writeTx(
    ctx,
    { operation: 'createApiToken', args: request, idempotencyKey },
    async (tx) => {
      if (!(await tx.user.findUnique({ where: { id: userId }, select: { id: true } })))
        throw new NotFoundError('User', userId);
      const token = generateToken();
      const apiToken = await tx.apiToken.create({
        data: {
          userId,
          kind: 'API',
          name: input.name,
          tokenHash: hashToken(token),
          expiresAt: input.expiresAt ?? null,
        },
      });
      return { token, apiToken };
    },
    (r) => ({ token: null, apiToken: r.apiToken }),
  );
}

export function revokeApiToken(
  args: { id: string; idempotencyKey?: string | null },
  ctx: Context,
): Promise<ApiToken> {
  const viewer = requireViewer(ctx);
  assertCan(viewer, 'manageTokens');
  const { idempotencyKey, ...request } = args;
  const tokenId = parse(id, args.id);
  return writeTx(ctx, { operation: 'revokeApiToken', args: request, idempotencyKey }, async (tx) => {
    const existing = await tx.apiToken.findUnique({ where: { id: tokenId } });
    if (!existing) throw new NotFoundError('ApiToken', tokenId);
    if (existing.revokedAt) return existing;
    return tx.apiToken.update({ where: { id: tokenId }, data: { revokedAt: new Date() } });
  });
}

export function me(query: Record<string, unknown>, ctx: Context) {
  const viewer = requireViewer(ctx);
  return ctx.db.prisma.user.findUniqueOrThrow({ ...query, where: { id: viewer.userId } });
}

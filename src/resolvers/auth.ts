/**
 * Sign-in and tokens. login checks the scrypt hash (re-hashing it when stored at a lower cost than
 * today's) and creates a SESSION token (api_tokens row, expiring after SESSION_TTL_HOURS, default
 * 7 days; beyond SESSIONS_PER_USER open sessions the oldest end), throttled per account and per
 * client address and with password hashing capped (src/auth/login-guard.ts); admins create and
 * revoke API tokens (at most API_TOKEN_MAX_DAYS, default 365 days). Tokens are shown once; only their SHA-256 is stored (an idempotent replay of
 * createApiToken therefore returns the token's record without the secret).
 */
import { z } from 'zod';
import { assertCan, can } from '../auth/access.ts';
import { accountKey } from '../auth/login-guard.ts';
import { hashPassword, needsRehash, verifyPassword } from '../auth/password.ts';
import { generateToken, hashToken } from '../auth/tokens.ts';
import type { Context } from '../context.ts';
import { AuthenticationFailedError, NotFoundError, TooManyAttemptsError } from '../errors.ts';
import type { ApiToken, Prisma, TokenKind, User } from '../generated/prisma/client.ts';
import { loginRefusals } from '../ops/counters.ts';
import { type PageArgs, readPage } from './page.ts';
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
    loginRefusals.inc({ reason: 'throttled' });
    throw new TooManyAttemptsError(Math.ceil(waitMs / 1000));
  };
  refuseIfThrottled();
  const checking = guard.hashing(async () => {
    // Checked again: failures may have come in while this attempt waited for its slot.
    refuseIfThrottled();
    const user = await ctx.db.prisma.user.findUnique({ where: { email: input.data.email } });
    dummyHash ??= hashPassword('not a password');
    const ok = await verifyPassword(input.data.password, user?.passwordHash ?? (await dummyHash));
    if (!user || !ok || !user.active) return null;
    // Stored at a lower cost than today's: store it again at the current one (in this slot, as it
    // costs a hash too). Only if unchanged meanwhile; moves neither version nor feed.
    if (needsRehash(user.passwordHash)) {
      await ctx.db.pool.query('UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3', [
        await hashPassword(input.data.password),
        user.id,
        user.passwordHash,
      ]);
      log.info('password re-hashed at the current cost');
    }
    return user;
  });
  if (!checking) {
    log.debug('login refused: hashing queue full');
    loginRefusals.inc({ reason: 'busy' });
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
  const { sessionsPerUser } = ctx.accounts;
  await ctx.db.prisma.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT set_config('app.actor', ${user.email}, true)`;
    // One sign-in of this user at a time here, so the cap below holds under concurrent sign-ins.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`sessions:${user.id}`}, 0))`;
    await tx.apiToken.create({
      // Signing in is the session's first use (so its first request a moment later writes nothing).
      data: {
        userId: user.id,
        kind: 'SESSION',
        name: sessionName(ctx),
        tokenHash: hashToken(token),
        expiresAt,
        lastUsedAt: new Date(),
      },
    });
    // At most SESSIONS_PER_USER open sessions: the oldest beyond that end now.
    await tx.$executeRaw`
      UPDATE api_tokens SET revoked_at = now()
       WHERE id IN (SELECT id FROM api_tokens
                     WHERE user_id = ${user.id}::uuid AND kind = 'SESSION' AND revoked_at IS NULL
                       AND (expires_at IS NULL OR expires_at > now())
                     ORDER BY created_at DESC, id DESC OFFSET ${sessionsPerUser})`;
  });
  return { token, user, expiresAt };
}

/** A session's name, for the list of one's sessions: browser (or program), system and address. */
function sessionName(ctx: Context): string {
  const agent = ctx.request?.headers.get('user-agent') ?? '';
  const browser =
    [
      ['Edge', /\bEdg\/(\d+)/],
      ['Opera', /\bOPR\/(\d+)/],
      ['Firefox', /\bFirefox\/(\d+)/],
      ['Chrome', /Chrome\/(\d+)/],
      ['Safari', /\bVersion\/(\d+).*Safari\//],
    ]
      .map(([name, re]) => {
        const m = (re as RegExp).exec(agent);
        return m ? `${name} ${m[1]}` : null;
      })
      .find(Boolean) ?? (agent.split(/[\s/]/)[0] || 'unknown client').slice(0, 40);
  const system = ['Windows', 'Android', 'iPhone', 'iPad', 'CrOS', 'Mac OS X', 'Linux']
    .find((name) => agent.includes(name))
    ?.replace('Mac OS X', 'macOS');
  return `${browser}${system ? ` on ${system}` : ''} from ${ctx.clientAddress}`.slice(0, 200);
}

const createTokenInput = (maxDays: number) =>
  z.object({
    name: name(200),
    userId: id.nullish(),
    expiresAt: z
      .date()
      .refine((d) => d.getTime() > Date.now(), 'must be in the future')
      .refine(
        (d) => d.getTime() <= Date.now() + maxDays * 86_400_000,
        `must be at most ${maxDays} days from now (API_TOKEN_MAX_DAYS)`,
      )
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
  const maxDays = ctx.accounts.apiTokenMaxDays;
  const input = parse(createTokenInput(maxDays), request);
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
          // No expiry asked for: the longest allowed (API_TOKEN_MAX_DAYS), never "forever".
          expiresAt: input.expiresAt ?? new Date(Date.now() + maxDays * 86_400_000),
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

/**
 * Admins: tokens, newest first; by user and kind; revoked and expired ones only when asked.
 * Anyone else gets an empty list (tokens of others do not exist for them).
 */
export function listApiTokens(
  query: Record<string, unknown>,
  args: PageArgs & { userId?: string | null; kind?: TokenKind | null; includeInactive?: boolean | null },
  ctx: Context,
) {
  const viewer = requireViewer(ctx);
  const userId = parse(id.nullish(), args.userId);
  const where: Prisma.ApiTokenWhereInput = {
    AND: [
      can(viewer, 'manageTokens') ? {} : { id: { in: [] } },
      userId ? { userId } : {},
      args.kind ? { kind: args.kind } : {},
      args.includeInactive
        ? {}
        : { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
    ],
  };
  return readPage(ctx, args, (tx, window) =>
    tx.apiToken.findMany({ ...query, where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], ...window }),
  );
}

export function me(query: Record<string, unknown>, ctx: Context) {
  const viewer = requireViewer(ctx);
  return ctx.db.prisma.user.findUniqueOrThrow({ ...query, where: { id: viewer.userId } });
}

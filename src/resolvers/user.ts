/**
 * Users, managed by admins (everyone) and managers (the clerks of their own branches; the rule is
 * `canManageUser` in src/auth/access.ts): list, read, createUser, updateUser (name, role,
 * branches, active; versioned), resetPassword.
 *
 * - createUser and resetPassword make a one-time password, returned once (an idempotent replay
 *   returns null instead: only hashes are stored) and to be changed at the next sign-in
 *   (mustChangePassword; src/auth/gate.ts refuses everything else until then). resetPassword and
 *   deactivation end the user's sessions.
 * - A user the viewer may not manage is NotFound, exactly like an unknown id. A change that would
 *   make the user one the viewer may not manage (a manager giving another role or branch) is
 *   Forbidden. Nobody changes their own role or deactivates themselves (ask another admin).
 * - User rows never carry the password hash out of the database layer: every read here omits it.
 */
import { z } from 'zod';
import { assertBranchVisible, assertCan, canManageUser, manageableUsers } from '../auth/access.ts';
import { generatePassword, hashPassword } from '../auth/password.ts';
import type { Viewer } from '../auth/viewer.ts';
import type { Context } from '../context.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import type { Prisma, Role, User } from '../generated/prisma/client.ts';
import { endSessions, inHashingSlot, NO_SECRETS } from './account.ts';
import { uniqueAsValidation } from './errors.ts';
import { type PageArgs, readPage } from './page.ts';
import { type Tx, writeTx } from './tx.ts';
import { email, id, likeLiteral, name, parse, searchTerm, version } from './validate.ts';
import { versionedUpdate } from './versioned.ts';
import { requireViewer } from './viewer.ts';

type Query = Record<string, unknown>;
type Key = { idempotencyKey?: string | null };

export type SafeUser = Omit<User, 'passwordHash'>;

/** A user with a password shown once (createUser, resetPassword); null on an idempotent replay. */
export interface UserWithPassword {
  user: SafeUser;
  password: string | null;
}

const role = z.enum(['ADMIN', 'MANAGER', 'CLERK']);
const branchIds = z.array(id).max(100, 'at most 100 branches');
const createInput = z.object({ id: id.nullish(), name: name(200), email, role, branchIds });
const patchInput = z
  .object({
    name: name(200).optional(),
    role: role.optional(),
    branchIds: branchIds.optional(),
    active: z.boolean().optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'patch must change at least one field');

export function listUsers(
  query: Query,
  args: PageArgs & { search?: string | null; includeInactive?: boolean | null },
  ctx: Context,
) {
  const viewer = requireViewer(ctx);
  const search = parse(searchTerm, args.search);
  const like = search ? likeLiteral(search) : '';
  const where: Prisma.UserWhereInput = {
    AND: [
      manageableUsers(viewer),
      args.includeInactive ? {} : { active: true },
      search
        ? {
            OR: [
              { name: { contains: like, mode: 'insensitive' } },
              { email: { contains: like, mode: 'insensitive' } },
            ],
          }
        : {},
    ],
  };
  return readPage(ctx, args, (tx, window) =>
    tx.user.findMany({ ...query, where, orderBy: [{ name: 'asc' }, { id: 'asc' }], ...window }),
  );
}

/** A user the viewer may manage, or the viewer themselves; null otherwise. */
export function getUser(query: Query, userId: string, ctx: Context) {
  const viewer = requireViewer(ctx);
  if (!id.safeParse(userId).success) return null;
  return ctx.db.prisma.user.findFirst({
    ...query,
    where: { AND: [{ id: userId }, { OR: [manageableUsers(viewer), { id: viewer.userId }] }] },
  });
}

/**
 * The role and branches a user is to have: branches visible to the viewer (NotFound otherwise)
 * and existing, at least one for a manager or clerk, and a user the viewer may manage.
 */
async function checkTarget(tx: Tx, viewer: Viewer, target: { role: Role; branchIds: string[] }) {
  for (const b of target.branchIds) assertBranchVisible(viewer, b);
  const found = await tx.branch.findMany({ where: { id: { in: target.branchIds } }, select: { id: true } });
  const missing = target.branchIds.find((b) => !found.some((f) => f.id === b));
  if (missing) throw new NotFoundError('Branch', missing);
  if (target.role !== 'ADMIN' && target.branchIds.length === 0) {
    throw new ValidationError('A manager or clerk needs at least one branch', [
      { path: ['branchIds'], message: 'must name at least one branch for a manager or clerk' },
    ]);
  }
  if (!canManageUser(viewer, target)) {
    throw new ForbiddenError('A manager can only give the clerk role and branches of their own');
  }
}

/** The user `userId` with their branches, if the viewer may manage them; NotFound otherwise. */
async function loadManaged(tx: Tx, viewer: Viewer, userId: string) {
  const user = await tx.user.findUnique({
    where: { id: userId },
    omit: NO_SECRETS,
    include: { branches: { select: { branchId: true } } },
  });
  const branchIdsOf = user?.branches.map((b) => b.branchId) ?? [];
  if (!user || !canManageUser(viewer, { role: user.role, branchIds: branchIdsOf })) {
    throw new NotFoundError('User', userId);
  }
  return { user, branchIds: branchIdsOf };
}

export interface CreateUserInput {
  id?: string | null;
  name: string;
  email: string;
  role: Role;
  branchIds: string[];
}

export async function createUser(
  args: { input: CreateUserInput } & Key,
  ctx: Context,
): Promise<UserWithPassword> {
  const viewer = requireViewer(ctx);
  assertCan(viewer, 'manageUsers');
  const input = parse(createInput, args.input);
  const password = generatePassword();
  const passwordHash = await inHashingSlot(ctx, () => hashPassword(password));
  return writeTx(
    ctx,
    { operation: 'createUser', args: args.input, idempotencyKey: args.idempotencyKey },
    async (tx) => {
      await checkTarget(tx, viewer, input);
      const user = await uniqueAsValidation('email', () =>
        tx.user.create({
          data: {
            id: input.id ?? undefined,
            name: input.name,
            email: input.email,
            role: input.role,
            passwordHash,
            mustChangePassword: true,
            passwordChangedAt: new Date(),
            branches: { create: input.branchIds.map((branchId) => ({ branchId })) },
          },
          omit: NO_SECRETS,
        }),
      );
      return { user, password };
    },
    (r) => ({ user: r.user, password: null }),
  );
}

export interface UserPatch {
  name?: string | null;
  role?: Role | null;
  branchIds?: string[] | null;
  active?: boolean | null;
}

export function updateUser(
  args: { id: string; expectedVersion: number; patch: UserPatch } & Key,
  ctx: Context,
): Promise<SafeUser> {
  const viewer = requireViewer(ctx);
  assertCan(viewer, 'manageUsers');
  const { idempotencyKey, ...request } = args;
  const userId = parse(id, args.id);
  const expectedVersion = parse(version, args.expectedVersion);
  const patch = parse(
    patchInput,
    Object.fromEntries(Object.entries(args.patch).filter(([, v]) => v !== null && v !== undefined)),
  );
  return writeTx(ctx, { operation: 'updateUser', args: request, idempotencyKey }, async (tx) => {
    const before = await loadManaged(tx, viewer, userId);
    if (
      userId === viewer.userId &&
      ((patch.role && patch.role !== before.user.role) || patch.active === false)
    ) {
      throw new ForbiddenError('You cannot change your own role or deactivate yourself; ask another admin');
    }
    const next = { role: patch.role ?? before.user.role, branchIds: patch.branchIds ?? before.branchIds };
    if (patch.role !== undefined || patch.branchIds !== undefined) await checkTarget(tx, viewer, next);
    return versionedUpdate(tx, {
      model: 'User',
      table: 'users',
      id: userId,
      expectedVersion,
      patch,
      write: async () => {
        const { count } = await tx.user.updateMany({
          where: { id: userId, version: expectedVersion },
          // updatedAt always: a change of branches alone moves the user's version too.
          data: { name: patch.name, role: patch.role, active: patch.active, updatedAt: new Date() },
        });
        if (count === 0) return 0;
        if (patch.branchIds) {
          await tx.userBranch.deleteMany({ where: { userId, branchId: { notIn: patch.branchIds } } });
          await tx.userBranch.createMany({
            data: patch.branchIds.map((branchId) => ({ userId, branchId })),
            skipDuplicates: true,
          });
        }
        if (patch.active === false) await endSessions(tx, userId);
        return count;
      },
      load: () => tx.user.findUnique({ where: { id: userId }, omit: NO_SECRETS }),
    });
  });
}

export async function resetPassword(args: { id: string } & Key, ctx: Context): Promise<UserWithPassword> {
  const viewer = requireViewer(ctx);
  assertCan(viewer, 'manageUsers');
  const userId = parse(id, args.id);
  if (userId === viewer.userId) {
    throw new ForbiddenError('Change your own password under My account (changePassword)');
  }
  const password = generatePassword();
  const passwordHash = await inHashingSlot(ctx, () => hashPassword(password));
  return writeTx(
    ctx,
    { operation: 'resetPassword', args: { id: userId }, idempotencyKey: args.idempotencyKey },
    async (tx) => {
      await loadManaged(tx, viewer, userId);
      const user = await tx.user.update({
        where: { id: userId },
        data: { passwordHash, mustChangePassword: true, passwordChangedAt: new Date() },
        omit: NO_SECRETS,
      });
      await endSessions(tx, userId);
      return { user, password };
    },
    (r) => ({ user: r.user, password: null }),
  );
}

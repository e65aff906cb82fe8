/** Branches: each viewer sees their own (admins all); only admins create, edit and archive them. */
import { z } from 'zod';
import { assertCan, scope } from '../auth/access.ts';
import type { Context } from '../context.ts';
import type { Branch, Prisma } from '../generated/prisma/client.ts';
import { uniqueAsValidation } from './errors.ts';
import { type PageArgs, readPage } from './page.ts';
import { writeTx } from './tx.ts';
import { id, name, parse, text, version } from './validate.ts';
import { versionedUpdate } from './versioned.ts';
import { requireViewer } from './viewer.ts';

type Query = Record<string, unknown>;
type Key = { idempotencyKey?: string | null };

const code = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9]{1,16}$/, 'must be 1 to 16 letters or digits');
export const fields = { code, name: name(200), address: text(500).nullish() };
const createInput = z.object({ id: id.nullish(), ...fields });
const patchInput = z
  .object({ code: code.optional(), name: fields.name.optional(), address: fields.address })
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'patch must change at least one field');

export function listBranches(
  query: Query,
  args: PageArgs & { includeInactive?: boolean | null },
  ctx: Context,
) {
  const viewer = requireViewer(ctx);
  const where: Prisma.BranchWhereInput = {
    ...scope.branch(viewer),
    ...(args.includeInactive ? {} : { active: true }),
  };
  return readPage(ctx, args, (tx, window) =>
    tx.branch.findMany({ ...query, where, orderBy: [{ code: 'asc' }, { id: 'asc' }], ...window }),
  );
}

export function getBranch(query: Query, branchId: string, ctx: Context) {
  const viewer = requireViewer(ctx);
  if (!id.safeParse(branchId).success) return null;
  return ctx.db.prisma.branch.findFirst({
    ...query,
    where: { AND: [{ id: branchId }, scope.branch(viewer)] },
  });
}

export function createBranch(
  args: { input: { id?: string | null; code: string; name: string; address?: string | null } } & Key,
  ctx: Context,
): Promise<Branch> {
  assertCan(requireViewer(ctx), 'editBranches');
  const input = parse(createInput, args.input);
  return writeTx(
    ctx,
    { operation: 'createBranch', args: args.input, idempotencyKey: args.idempotencyKey },
    (tx) =>
      uniqueAsValidation(input.id ? 'id or code' : 'code', async () => {
        const branch = await tx.branch.create({ data: { ...input, id: input.id ?? undefined } });
        await tx.orderCounter.create({ data: { branchId: branch.id } });
        return branch;
      }),
  );
}

function editBranch(
  ctx: Context,
  operation: string,
  a: { id: string; expectedVersion: number } & Key,
  patch: Prisma.BranchUpdateManyMutationInput & Record<string, unknown>,
  request: unknown,
): Promise<Branch> {
  const viewer = requireViewer(ctx);
  const branchId = parse(id, a.id);
  const expectedVersion = parse(version, a.expectedVersion);
  assertCan(viewer, 'editBranches');
  return writeTx(ctx, { operation, args: request, idempotencyKey: a.idempotencyKey }, (tx) =>
    uniqueAsValidation('code', () =>
      versionedUpdate(tx, {
        model: 'Branch',
        table: 'branches',
        id: branchId,
        expectedVersion,
        patch,
        write: async () =>
          (await tx.branch.updateMany({ where: { id: branchId, version: expectedVersion }, data: patch }))
            .count,
        load: () => tx.branch.findUnique({ where: { id: branchId } }),
      }),
    ),
  );
}

export function updateBranch(
  args: {
    id: string;
    expectedVersion: number;
    patch: { code?: string | null; name?: string | null; address?: string | null };
  } & Key,
  ctx: Context,
): Promise<Branch> {
  assertCan(requireViewer(ctx), 'editBranches');
  const { idempotencyKey, ...request } = args;
  return editBranch(ctx, 'updateBranch', args, parse(patchInput, args.patch), request);
}

export function archiveBranch(
  args: { id: string; expectedVersion: number } & Key,
  ctx: Context,
): Promise<Branch> {
  const { idempotencyKey, ...request } = args;
  return editBranch(ctx, 'archiveBranch', args, { active: false }, request);
}

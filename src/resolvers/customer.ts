/**
 * Customers. Decision: customers are not branch-scoped for reading. Every signed-in user sees
 * every customer (a regular may buy at any branch); the home branch is informational. Clerks may
 * add customers (at the till); editing is for managers (customers of their branches, or without a
 * home branch) and admins.
 */
import { z } from 'zod';
import { assertBranchVisible, assertCanCreateCustomer, assertCanEditCustomer } from '../auth/access.ts';
import type { Context } from '../context.ts';
import { NotFoundError } from '../errors.ts';
import type { Customer, Prisma } from '../generated/prisma/client.ts';
import { uniqueAsValidation } from './errors.ts';
import { type PageArgs, readPage } from './page.ts';
import { type Tx, writeTx } from './tx.ts';
import { email, id, likeLiteral, name, parse, searchTerm, text, version } from './validate.ts';
import { versionedUpdate } from './versioned.ts';
import { requireViewer } from './viewer.ts';

type Query = Record<string, unknown>;
type Key = { idempotencyKey?: string | null };

export const fields = {
  name: name(200),
  phone: z
    .string()
    .trim()
    .max(40)
    .regex(/^[0-9 +()./-]*$/, 'must be a phone number')
    .transform((s) => s || null)
    .nullish(),
  email: z.union([z.literal('').transform(() => null), email]).nullish(),
  homeBranchId: id.nullish(),
  notes: text(4000).nullish(),
};
const createInput = z.object({ id: id.nullish(), ...fields });
const patchInput = z
  .object({ ...fields, name: fields.name.optional() })
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'patch must change at least one field');

async function assertBranchExists(tx: Tx, branchId: string): Promise<void> {
  if (!(await tx.branch.findUnique({ where: { id: branchId }, select: { id: true } }))) {
    throw new NotFoundError('Branch', branchId);
  }
}

export type CustomerInput = { [K in keyof typeof fields]?: string | null } & { id?: string | null };

export function listCustomers(
  query: Query,
  args: PageArgs & { search?: string | null; includeArchived?: boolean | null },
  ctx: Context,
) {
  requireViewer(ctx);
  const search = parse(searchTerm, args.search);
  const like = search ? likeLiteral(search) : '';
  const where: Prisma.CustomerWhereInput = {
    ...(args.includeArchived ? {} : { active: true }),
    ...(search
      ? {
          OR: [
            { name: { contains: like, mode: 'insensitive' } },
            { email: { contains: like, mode: 'insensitive' } },
            { phone: { contains: like } },
          ],
        }
      : {}),
  };
  return readPage(ctx, args, (tx, window) =>
    tx.customer.findMany({ ...query, where, orderBy: [{ name: 'asc' }, { id: 'asc' }], ...window }),
  );
}

export function getCustomer(query: Query, customerId: string, ctx: Context) {
  requireViewer(ctx);
  if (!id.safeParse(customerId).success) return null;
  return ctx.db.prisma.customer.findUnique({ ...query, where: { id: customerId } });
}

export function createCustomer(args: { input: CustomerInput } & Key, ctx: Context): Promise<Customer> {
  const viewer = requireViewer(ctx);
  const input = parse(createInput, args.input);
  if (input.homeBranchId) assertBranchVisible(viewer, input.homeBranchId);
  assertCanCreateCustomer(viewer, input.homeBranchId);
  return writeTx(
    ctx,
    { operation: 'createCustomer', args: args.input, idempotencyKey: args.idempotencyKey },
    (tx) =>
      uniqueAsValidation('id', async () => {
        if (input.homeBranchId) await assertBranchExists(tx, input.homeBranchId);
        return tx.customer.create({ data: { ...input, id: input.id ?? undefined } });
      }),
  );
}

function editCustomer(
  ctx: Context,
  operation: string,
  a: { id: string; expectedVersion: number } & Key,
  patch: Prisma.CustomerUncheckedUpdateManyInput & Record<string, unknown>,
  request: unknown,
): Promise<Customer> {
  const viewer = requireViewer(ctx);
  const customerId = parse(id, a.id);
  const expectedVersion = parse(version, a.expectedVersion);
  if (typeof patch.homeBranchId === 'string') assertBranchVisible(viewer, patch.homeBranchId);
  return writeTx(ctx, { operation, args: request, idempotencyKey: a.idempotencyKey }, async (tx: Tx) => {
    const before = await tx.customer.findUnique({
      where: { id: customerId },
      select: { homeBranchId: true },
    });
    if (!before) throw new NotFoundError('Customer', customerId);
    assertCanEditCustomer(viewer, before.homeBranchId);
    if (patch.homeBranchId !== undefined) assertCanEditCustomer(viewer, patch.homeBranchId as string | null);
    if (typeof patch.homeBranchId === 'string') await assertBranchExists(tx, patch.homeBranchId);
    return versionedUpdate(tx, {
      model: 'Customer',
      table: 'customers',
      id: customerId,
      expectedVersion,
      patch,
      write: async () =>
        (await tx.customer.updateMany({ where: { id: customerId, version: expectedVersion }, data: patch }))
          .count,
      load: () => tx.customer.findUnique({ where: { id: customerId } }),
    });
  });
}

export function updateCustomer(
  args: { id: string; expectedVersion: number; patch: CustomerInput } & Key,
  ctx: Context,
): Promise<Customer> {
  const { idempotencyKey, ...request } = args;
  return editCustomer(ctx, 'updateCustomer', args, parse(patchInput, args.patch), request);
}

export function archiveCustomer(
  args: { id: string; expectedVersion: number } & Key,
  ctx: Context,
): Promise<Customer> {
  const { idempotencyKey, ...request } = args;
  return editCustomer(ctx, 'archiveCustomer', args, { active: false }, request);
}

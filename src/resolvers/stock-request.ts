/**
 * Stock between branches: a manager of one branch asks another branch for stock; a manager of
 * the branch asked approves (all or part) or declines; approval ships it; the asking branch
 * confirms receipt. Admins may act for either side.
 *
 * Guarantees:
 * - Every step is one write transaction through `writeTx` (actor, idempotencyKey) and one
 *   conditional UPDATE on (id, expectedVersion, status): a stale version changes nothing and
 *   returns VersionConflict; a step from the wrong status (a declined request received, an
 *   approval twice) is a ValidationError naming the status.
 * - Stock moves only by movements (stock-lock.ts): approval writes TRANSFER_OUT at the branch
 *   asked (never below zero: InsufficientStock, and then nothing is written), receipt writes
 *   TRANSFER_IN at the asking branch; both carry the request's id as transfer_id. Between them
 *   the approved quantity is in transit (`inTransit`), so stock on hand plus in transit stays
 *   the same across a transfer.
 * - Who sees a request: the users of either of its branches (queries here; the feed in
 *   src/listeners/access.ts). A request of branches the viewer may not see does not exist to it.
 */
import { z } from 'zod';
import { assertBranchVisible, assertCan, canSeeBranch } from '../auth/access.ts';
import type { Viewer } from '../auth/viewer.ts';
import type { Context } from '../context.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import type { Prisma, StockRequest, StockRequestStatus } from '../generated/prisma/client.ts';
import { type PageArgs, readPage } from './page.ts';
import { applyMovements, ensureStockRows, lockStock } from './stock-lock.ts';
import { type Tx, writeTx } from './tx.ts';
import { id, parse, quantity, text, version } from './validate.ts';
import { conflictError } from './versioned.ts';
import { requireViewer } from './viewer.ts';

type Query = Record<string, unknown>;
type Key = { idempotencyKey?: string | null };

/** Requests of either of the viewer's branches (everything for admins). */
function visible(viewer: Viewer): Prisma.StockRequestWhereInput {
  if (viewer.role === 'ADMIN') return {};
  return { OR: [{ branchId: { in: viewer.branchIds } }, { fromBranchId: { in: viewer.branchIds } }] };
}

/** In transit: shipped by the branch asked, not yet received. */
export const inTransit = (r: Pick<StockRequest, 'status' | 'approvedQuantity'>) =>
  r.status === 'IN_TRANSIT' ? (r.approvedQuantity ?? 0) : 0;

export function listStockRequests(
  query: Query,
  args: PageArgs & { branchId: string; status?: StockRequestStatus | null },
  ctx: Context,
) {
  const viewer = requireViewer(ctx);
  const branchId = parse(id, args.branchId);
  assertBranchVisible(viewer, branchId);
  const where: Prisma.StockRequestWhereInput = {
    OR: [{ branchId }, { fromBranchId: branchId }],
    ...(args.status ? { status: args.status } : {}),
  };
  return readPage(ctx, args, (tx, window) =>
    tx.stockRequest.findMany({
      ...query,
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      ...window,
    }),
  );
}

/** Every active branch by id, code and name: whom a manager may ask for stock. */
export function listRequestableBranches(ctx: Context) {
  requireViewer(ctx);
  return ctx.db.prisma.branch.findMany({
    where: { active: true },
    select: { id: true, code: true, name: true },
    orderBy: { code: 'asc' },
  });
}

const requestInput = z
  .object({
    id: id.nullish(),
    branchId: id,
    fromBranchId: id,
    productId: id,
    quantity,
    note: text(500).nullish(),
  })
  .refine((r) => r.branchId !== r.fromBranchId, {
    message: 'must differ from branchId',
    path: ['fromBranchId'],
  });

export function requestStock(
  args: {
    id?: string | null;
    branchId: string;
    fromBranchId: string;
    productId: string;
    quantity: number;
    note?: string | null;
  } & Key,
  ctx: Context,
): Promise<StockRequest> {
  const viewer = requireViewer(ctx);
  const { idempotencyKey, ...request } = args;
  const input = parse(requestInput, request);
  assertBranchVisible(viewer, input.branchId);
  assertCan(viewer, 'adjustStock', 'Only a manager can ask another branch for stock');
  return writeTx(ctx, { operation: 'requestStock', args: request, idempotencyKey }, async (tx) => {
    const from = await tx.branch.findUnique({ where: { id: input.fromBranchId } });
    if (!from?.active) throw new NotFoundError('Branch', input.fromBranchId);
    if (!(await tx.product.findUnique({ where: { id: input.productId }, select: { id: true } }))) {
      throw new NotFoundError('Product', input.productId);
    }
    const { id: requestId, ...data } = input;
    return tx.stockRequest.create({ data: { ...data, id: requestId ?? undefined } });
  });
}

type Side = 'asked' | 'asking';
type StepArgs = { id: string; expectedVersion: number } & Key;

/**
 * Moves a request the viewer may act on from `from` to `to` at expectedVersion (one conditional
 * UPDATE), then runs `after` in the same transaction. Otherwise explains: NotFound (not visible),
 * Forbidden (the other branch's step), VersionConflict, or ValidationError (wrong status).
 */
async function step(
  tx: Tx,
  viewer: Viewer,
  a: { id: string; expectedVersion: number },
  side: Side,
  from: StockRequestStatus,
  data: Prisma.StockRequestUpdateManyMutationInput & { status: StockRequestStatus },
): Promise<StockRequest> {
  const current = await tx.stockRequest.findFirst({ where: { AND: [{ id: a.id }, visible(viewer)] } });
  if (!current) throw new NotFoundError('StockRequest', a.id);
  const actingBranch = side === 'asked' ? current.fromBranchId : current.branchId;
  if (!canSeeBranch(viewer, actingBranch)) {
    throw new ForbiddenError(
      side === 'asked'
        ? 'Only a manager of the branch asked can approve or decline this request'
        : 'Only a manager of the asking branch can receive or cancel this request',
    );
  }
  const { count } = await tx.stockRequest.updateMany({
    where: { id: a.id, version: a.expectedVersion, status: from },
    data,
  });
  const row = (await tx.stockRequest.findUnique({ where: { id: a.id } })) as StockRequest;
  if (count === 1) return row;
  if (row.version !== a.expectedVersion) {
    throw await conflictError(
      tx,
      'StockRequest',
      'stock_requests',
      row,
      { status: data.status },
      a.expectedVersion,
    );
  }
  throw new ValidationError(`Stock request is ${row.status}`, [
    { path: ['id'], message: `is ${row.status}, expected ${from}` },
  ]);
}

const stepInput = z.object({ id, expectedVersion: version, note: text(500).nullish() });
const approveInput = stepInput.extend({ quantity: quantity.nullish() });

export function approveStockRequest(
  args: StepArgs & { quantity?: number | null; note?: string | null },
  ctx: Context,
): Promise<StockRequest> {
  const viewer = requireViewer(ctx);
  const { idempotencyKey, ...request } = args;
  const input = parse(approveInput, request);
  assertCan(viewer, 'adjustStock', 'Only a manager can approve a request for stock');
  return writeTx(ctx, { operation: 'approveStockRequest', args: request, idempotencyKey }, async (tx) => {
    const before = await tx.stockRequest.findFirst({ where: { AND: [{ id: input.id }, visible(viewer)] } });
    if (!before) throw new NotFoundError('StockRequest', input.id);
    const approved = input.quantity ?? before.quantity;
    if (approved > before.quantity) {
      throw new ValidationError('Cannot approve more than was asked for', [
        { path: ['quantity'], message: `must be at most ${before.quantity}` },
      ]);
    }
    const row = await step(tx, viewer, input, 'asked', 'REQUESTED', {
      status: 'IN_TRANSIT',
      approvedQuantity: approved,
      responseNote: input.note ?? null,
    });
    const out = { branchId: row.fromBranchId, productId: row.productId };
    const locked = await lockStock(tx, [out]);
    await applyMovements(tx, viewer, locked, [
      { ...out, kind: 'TRANSFER_OUT', delta: -approved, transferId: row.id, reason: input.note ?? row.note },
    ]);
    return row;
  });
}

export function declineStockRequest(
  args: StepArgs & { note?: string | null },
  ctx: Context,
): Promise<StockRequest> {
  const viewer = requireViewer(ctx);
  const { idempotencyKey, ...request } = args;
  const input = parse(stepInput, request);
  assertCan(viewer, 'adjustStock', 'Only a manager can decline a request for stock');
  return writeTx(ctx, { operation: 'declineStockRequest', args: request, idempotencyKey }, (tx) =>
    step(tx, viewer, input, 'asked', 'REQUESTED', { status: 'DECLINED', responseNote: input.note ?? null }),
  );
}

export function cancelStockRequest(args: StepArgs, ctx: Context): Promise<StockRequest> {
  const viewer = requireViewer(ctx);
  const { idempotencyKey, ...request } = args;
  const input = parse(stepInput, request);
  assertCan(viewer, 'adjustStock', 'Only a manager can cancel a request for stock');
  return writeTx(ctx, { operation: 'cancelStockRequest', args: request, idempotencyKey }, (tx) =>
    step(tx, viewer, input, 'asking', 'REQUESTED', { status: 'CANCELLED' }),
  );
}

export function receiveStockRequest(args: StepArgs, ctx: Context): Promise<StockRequest> {
  const viewer = requireViewer(ctx);
  const { idempotencyKey, ...request } = args;
  const input = parse(stepInput, request);
  assertCan(viewer, 'adjustStock', 'Only a manager can confirm receipt of a transfer');
  return writeTx(ctx, { operation: 'receiveStockRequest', args: request, idempotencyKey }, async (tx) => {
    const row = await step(tx, viewer, input, 'asking', 'IN_TRANSIT', { status: 'RECEIVED' });
    const into = { branchId: row.branchId, productId: row.productId };
    await ensureStockRows(tx, [into]);
    const locked = await lockStock(tx, [into]);
    await applyMovements(tx, viewer, locked, [
      {
        ...into,
        kind: 'TRANSFER_IN',
        delta: row.approvedQuantity ?? 0,
        transferId: row.id,
        reason: row.note,
      },
    ]);
    return row;
  });
}

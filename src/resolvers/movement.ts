/**
 * Stock movements other than sales and counts: receive, adjust, transfer. Each runs in one write
 * transaction through stock-lock.ts (fixed lock order, never below zero, ledger rows); adjust, the
 * hot path, through the same rules in raw SQL (stock-adjust.ts).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { assertBranchVisible, assertCan, assertStockChangeAllowed } from '../auth/access.ts';
import type { Context } from '../context.ts';
import { NotFoundError } from '../errors.ts';
import type { StockLevel } from '../generated/prisma/client.ts';
import { sqlWriteTx } from './sql-tx.ts';
import { adjustStockSql } from './stock-adjust.ts';
import { applyMovements, ensureStockRows, lockStock } from './stock-lock.ts';
import { type Tx, writeTx } from './tx.ts';
import { id, LIMITS, name, parse, quantity, text } from './validate.ts';
import { requireViewer } from './viewer.ts';

type Key = { idempotencyKey?: string | null };

/** NotFound for a branch (admins may name any id) or product that does not exist. */
async function assertExist(tx: Tx, branchIds: string[], productId: string): Promise<void> {
  const branches = await tx.branch.findMany({ where: { id: { in: branchIds } }, select: { id: true } });
  const missing = branchIds.find((b) => !branches.some((x) => x.id === b));
  if (missing) throw new NotFoundError('Branch', missing);
  if (!(await tx.product.findUnique({ where: { id: productId }, select: { id: true } }))) {
    throw new NotFoundError('Product', productId);
  }
}

const receiveInput = z.object({ branchId: id, productId: id, quantity, note: text(500).nullish() });

export function receiveStock(
  args: { branchId: string; productId: string; quantity: number; note?: string | null } & Key,
  ctx: Context,
): Promise<StockLevel> {
  const viewer = requireViewer(ctx);
  const { idempotencyKey, ...request } = args;
  const input = parse(receiveInput, request);
  assertBranchVisible(viewer, input.branchId);
  assertCan(viewer, 'receiveStock');
  assertStockChangeAllowed(viewer, 'receipt', input.quantity, ctx.accounts.clerkMaxStockChange);
  return writeTx(ctx, { operation: 'receiveStock', args: request, idempotencyKey }, async (tx) => {
    await assertExist(tx, [input.branchId], input.productId);
    await ensureStockRows(tx, [input]);
    const locked = await lockStock(tx, [input]);
    const move = { ...input, kind: 'RECEIPT' as const, delta: input.quantity, reason: input.note };
    return (await applyMovements(tx, viewer, locked, [move]))[0];
  });
}

const adjustInput = z.object({
  branchId: id,
  productId: id,
  delta: z
    .number()
    .int()
    .min(-LIMITS.maxQuantity)
    .max(LIMITS.maxQuantity)
    .refine((d) => d !== 0, 'must not be 0'),
  reason: name(500),
});

export function adjustStock(
  args: { branchId: string; productId: string; delta: number; reason: string } & Key,
  ctx: Context,
): Promise<StockLevel> {
  const viewer = requireViewer(ctx);
  const { idempotencyKey, ...request } = args;
  const input = parse(adjustInput, request);
  assertBranchVisible(viewer, input.branchId);
  assertCan(viewer, 'adjustStock');
  return sqlWriteTx(ctx, { operation: 'adjustStock', args: request, idempotencyKey }, (sql) =>
    adjustStockSql(sql, viewer, input),
  );
}

const transferInput = z
  .object({ fromBranchId: id, toBranchId: id, productId: id, quantity, note: text(500).nullish() })
  .refine((t) => t.fromBranchId !== t.toBranchId, {
    message: 'must differ from fromBranchId',
    path: ['toBranchId'],
  });

export interface StockTransfer {
  transferId: string;
  from: StockLevel;
  to: StockLevel;
}

export function transferStock(
  args: {
    fromBranchId: string;
    toBranchId: string;
    productId: string;
    quantity: number;
    note?: string | null;
  } & Key,
  ctx: Context,
): Promise<StockTransfer> {
  const viewer = requireViewer(ctx);
  const { idempotencyKey, ...request } = args;
  const input = parse(transferInput, request);
  assertBranchVisible(viewer, input.fromBranchId);
  assertBranchVisible(viewer, input.toBranchId);
  assertCan(viewer, 'adjustStock');
  return writeTx(ctx, { operation: 'transferStock', args: request, idempotencyKey }, async (tx) => {
    await assertExist(tx, [input.fromBranchId, input.toBranchId], input.productId);
    const from = { branchId: input.fromBranchId, productId: input.productId };
    const to = { branchId: input.toBranchId, productId: input.productId };
    await ensureStockRows(tx, [to]);
    const locked = await lockStock(tx, [from, to]);
    const transferId = randomUUID();
    const reason = input.note ?? null;
    const rows = await applyMovements(tx, viewer, locked, [
      { ...from, kind: 'TRANSFER_OUT', delta: -input.quantity, transferId, reason },
      { ...to, kind: 'TRANSFER_IN', delta: input.quantity, transferId, reason },
    ]);
    const pick = (branchId: string) => rows.find((r) => r.branchId === branchId) as StockLevel;
    return { transferId, from: pick(input.fromBranchId), to: pick(input.toBranchId) };
  });
}

/**
 * adjustStock as raw SQL inside `sqlWriteTx`, with the guarantees of stock-lock.ts (DESIGN.md
 * "Write rules" 2) for its single stock row:
 * - one statement checks that the branch and the product exist and locks the stock row
 *   (FOR UPDATE; a concurrent movement of the same row waits, then sees its result);
 *   NotFound names the branch first, then the product, as before;
 * - a missing stock row is created (quantity 0) only when the delta adds stock, then locked;
 * - never below zero: InsufficientStock, before anything is written;
 * - the new quantity and its ledger row (stock_movements) are written in the same transaction,
 *   so quantity always equals the sum of the movements. Version, updated_at and updated_by come
 *   from the row's BEFORE trigger, the actor of the ledger row from the viewer.
 */
import type { Viewer } from '../auth/viewer.ts';
import { InsufficientStockError, NotFoundError } from '../errors.ts';
import type { StockLevel } from '../generated/prisma/client.ts';
import { type StockLevelRow, stockLevelFromRow } from './rows.ts';
import type { Sql } from './sql-tx.ts';

export interface Adjustment {
  branchId: string;
  productId: string;
  delta: number;
  reason: string;
}

const CHECK_AND_LOCK = `
  SELECT EXISTS (SELECT 1 FROM branches WHERE id = $1) AS branch_exists,
         EXISTS (SELECT 1 FROM products WHERE id = $2) AS product_exists,
         s.id, s.quantity
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (
      SELECT id, quantity FROM stock_levels WHERE branch_id = $1 AND product_id = $2 FOR UPDATE
    ) AS s ON true`;

const LOCK = 'SELECT id, quantity FROM stock_levels WHERE branch_id = $1 AND product_id = $2 FOR UPDATE';

export async function adjustStockSql(sql: Sql, viewer: Viewer, a: Adjustment): Promise<StockLevel> {
  const keys = [a.branchId, a.productId];
  const checked = await sql.query<{
    branch_exists: boolean;
    product_exists: boolean;
    id: string | null;
    quantity: number | null;
  }>(CHECK_AND_LOCK, keys);
  const found = checked.rows[0];
  if (!found?.branch_exists) throw new NotFoundError('Branch', a.branchId);
  if (!found.product_exists) throw new NotFoundError('Product', a.productId);
  let stock = found.id === null ? null : { id: found.id, quantity: found.quantity ?? 0 };
  if (!stock && a.delta > 0) {
    await sql.query(
      `INSERT INTO stock_levels (branch_id, product_id) VALUES ($1, $2)
       ON CONFLICT (branch_id, product_id) DO NOTHING`,
      keys,
    );
    stock = (await sql.query<{ id: string; quantity: number }>(LOCK, keys)).rows[0] ?? null;
  }
  const before = stock?.quantity ?? 0;
  if (!stock || before + a.delta < 0) {
    throw new InsufficientStockError(a.productId, a.branchId, -a.delta, before);
  }
  const updated = await sql.query<StockLevelRow>(
    'UPDATE stock_levels SET quantity = $1 WHERE id = $2 RETURNING *',
    [before + a.delta, stock.id],
  );
  const now = new Date();
  await sql.query(
    `INSERT INTO stock_movements (branch_id, product_id, kind, delta, reason, actor_id, created_at, updated_at)
     VALUES ($1, $2, 'ADJUSTMENT', $3, $4, $5, $6, $6)`,
    [a.branchId, a.productId, a.delta, a.reason, viewer.userId, now],
  );
  return stockLevelFromRow(updated.rows[0] as StockLevelRow);
}

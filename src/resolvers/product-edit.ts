/**
 * A versioned product edit as raw SQL inside `sqlWriteTx` (DESIGN.md "Write rules" 1). The
 * version check and the write are one statement, `UPDATE products ... WHERE id = $1 AND
 * version = $2 RETURNING *`: a concurrent writer that got there first makes it match nothing and
 * the row is not touched. Only then is the current row read: absent means NotFound, present means
 * VersionConflict with the current row and the fields changed after the client's version (from
 * the change log). The version, updated_at and updated_by are set by the row's BEFORE trigger.
 */

import { NotFoundError } from '../errors.ts';
import type { Product } from '../generated/prisma/client.ts';
import { type ProductRow, productFromRow } from './rows.ts';
import type { Sql } from './sql-tx.ts';
import { CHANGED_COLUMNS_SQL, camel, conflictWith } from './versioned.ts';

/** The columns a product patch may set, by field name. */
const COLUMNS: Record<string, string> = {
  sku: 'sku',
  barcode: 'barcode',
  name: 'name',
  description: 'description',
  unitPrice: 'unit_price',
  active: 'active',
};

export async function editProductSql(
  sql: Sql,
  productId: string,
  expectedVersion: number,
  patch: Record<string, unknown>,
): Promise<Product> {
  const values: unknown[] = [productId, expectedVersion];
  const sets: string[] = [];
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const column = COLUMNS[field];
    if (!column) throw new Error(`products: no column for field ${field}`);
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  }
  const updated = await sql.query<ProductRow>(
    `UPDATE products SET ${sets.join(', ')} WHERE id = $1 AND version = $2 RETURNING *`,
    values,
  );
  if (updated.rows[0]) return productFromRow(updated.rows[0]);
  const current = await sql.query<ProductRow>('SELECT * FROM products WHERE id = $1', [productId]);
  if (!current.rows[0]) throw new NotFoundError('Product', productId);
  const row = productFromRow(current.rows[0]);
  const changed = await sql.query<{ f: string }>(CHANGED_COLUMNS_SQL, [
    'products',
    productId,
    expectedVersion,
  ]);
  throw conflictWith(
    'Product',
    row,
    changed.rows.map((r) => camel(r.f)),
    patch,
    expectedVersion,
  );
}

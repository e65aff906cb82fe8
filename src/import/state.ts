/**
 * What Branchline already holds, read once before planning: the import map of the mapping's
 * namespace, and the branches, products, customers and stock levels with their versions, indexed
 * by the keys an import matches on (source key through the import map, then branch code, SKU,
 * customer email, customer phone, and branch x product for stock). One REPEATABLE READ snapshot.
 */
import type pg from 'pg';
import type { RecordType } from './mapping.ts';
import { phoneKey } from './values.ts';

export interface Existing {
  id: string;
  version: number;
  /** Field values as the import compares them (text, money as "12.50"). */
  values: Record<string, string | null>;
}

export interface StockRow {
  id: string;
  quantity: number;
  reorderLevel: number;
  version: number;
}

export interface MapEntry {
  targetId: string;
  values: Record<string, unknown>;
}

export interface State {
  map: Map<string, MapEntry>;
  branches: Map<string, Existing>;
  branchByCode: Map<string, string>;
  products: Map<string, Existing>;
  productBySku: Map<string, string>;
  productByBarcode: Map<string, string>;
  customers: Map<string, Existing>;
  customerByEmail: Map<string, string>;
  customerByPhone: Map<string, string>;
  stock: Map<string, StockRow>;
}

export const mapKey = (type: RecordType, key: string) => `${type}:${key}`;
export const stockKey = (branchId: string, productId: string) => `${branchId}:${productId}`;

export async function loadState(pool: pg.Pool, namespace: string): Promise<State> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const map = await c.query<{
      record: RecordType;
      source_key: string;
      target_id: string;
      source_values: Record<string, unknown>;
    }>('SELECT record, source_key, target_id, source_values FROM import_map WHERE namespace = $1', [
      namespace,
    ]);
    const branches = await c.query('SELECT id, version, code, name, address FROM branches');
    const products = await c.query(
      'SELECT id, version, sku, barcode, name, description, unit_price::text AS "unitPrice" FROM products',
    );
    const customers = await c.query(
      `SELECT id, version, name, email, phone, notes, home_branch_id AS "homeBranchId" FROM customers`,
    );
    const stock = await c.query<{
      id: string;
      branch_id: string;
      product_id: string;
      quantity: number;
      reorder_level: number;
      version: number;
    }>('SELECT id, branch_id, product_id, quantity, reorder_level, version FROM stock_levels');
    await c.query('COMMIT');
    const existing = (rows: Record<string, unknown>[]) =>
      new Map<string, Existing>(
        rows.map((r) => {
          const { id, version, ...values } = r as { id: string; version: number } & Record<
            string,
            string | null
          >;
          return [id, { id, version, values }];
        }),
      );
    const state: State = {
      map: new Map(
        map.rows.map((r) => [
          mapKey(r.record, r.source_key),
          { targetId: r.target_id, values: r.source_values },
        ]),
      ),
      branches: existing(branches.rows),
      branchByCode: new Map(branches.rows.map((r) => [r.code as string, r.id as string])),
      products: existing(products.rows),
      productBySku: new Map(products.rows.map((r) => [r.sku as string, r.id as string])),
      productByBarcode: new Map(
        products.rows.filter((r) => r.barcode).map((r) => [r.barcode as string, r.id as string]),
      ),
      customers: existing(customers.rows),
      customerByEmail: new Map(),
      customerByPhone: new Map(),
      stock: new Map(
        stock.rows.map((r) => [
          stockKey(r.branch_id, r.product_id),
          { id: r.id, quantity: r.quantity, reorderLevel: r.reorder_level, version: r.version },
        ]),
      ),
    };
    for (const r of customers.rows) {
      if (r.email) state.customerByEmail.set(String(r.email).toLowerCase(), r.id);
      const phone = phoneKey(r.phone);
      if (phone && !state.customerByPhone.has(phone)) state.customerByPhone.set(phone, r.id);
    }
    return state;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

/** Whether two import-map values are the same (key order aside: jsonb reorders keys). */
export function sameValues(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null)) return false;
  return true;
}

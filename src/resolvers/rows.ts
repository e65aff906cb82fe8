/**
 * Raw `products` and `stock_levels` rows (as `pg` returns them) turned into the objects Prisma
 * would return for the same rows: camelCase fields, money as Prisma.Decimal, timestamps as Date.
 * The GraphQL types and stored idempotent results cannot tell the two apart.
 */
import { Prisma, type Product, type StockLevel } from '../generated/prisma/client.ts';

export interface ProductRow {
  id: string;
  sku: string;
  barcode: string | null;
  name: string;
  description: string | null;
  unit_price: string;
  active: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
  updated_by: string | null;
}

export function productFromRow(r: ProductRow): Product {
  return {
    id: r.id,
    sku: r.sku,
    barcode: r.barcode,
    name: r.name,
    description: r.description,
    unitPrice: new Prisma.Decimal(r.unit_price),
    active: r.active,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
  };
}

export interface StockLevelRow {
  id: string;
  branch_id: string;
  product_id: string;
  quantity: number;
  reorder_level: number;
  version: number;
  created_at: Date;
  updated_at: Date;
  updated_by: string | null;
}

export function stockLevelFromRow(r: StockLevelRow): StockLevel {
  return {
    id: r.id,
    branchId: r.branch_id,
    productId: r.product_id,
    quantity: r.quantity,
    reorderLevel: r.reorder_level,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
  };
}

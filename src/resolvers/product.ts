/** Products: catalogue reads for everybody; creating, editing prices and archiving for managers and admins. */

import { z } from 'zod';
import { assertCan } from '../auth/access.ts';
import type { Context } from '../context.ts';
import type { Prisma, Product } from '../generated/prisma/client.ts';
import { uniqueAsValidation } from './errors.ts';
import { type PageArgs, readPage } from './page.ts';
import { editProductSql } from './product-edit.ts';
import { sqlWriteTx } from './sql-tx.ts';
import { writeTx } from './tx.ts';
import { id, likeLiteral, name, parse, price, searchTerm, text, version } from './validate.ts';
import { requireViewer } from './viewer.ts';

type Query = Record<string, unknown>;

/** A scanner code: digits, letters and - . _ only; empty clears it. */
const barcode = z
  .string()
  .trim()
  .max(64)
  .regex(/^[0-9A-Za-z._-]*$/, 'must be a barcode (digits, letters, - . _)')
  .transform((s) => s || null)
  .nullish();

export const productFields = {
  sku: name(64),
  barcode,
  name: name(200),
  description: text(4000).nullish(),
  unitPrice: price,
};
const createInput = z.object({ id: id.nullish(), ...productFields });
const patchInput = z
  .object({
    sku: productFields.sku.optional(),
    barcode: productFields.barcode,
    name: productFields.name.optional(),
    description: productFields.description,
    unitPrice: productFields.unitPrice.optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'patch must change at least one field');

/** Which unique key a violation names: the barcode's, else `otherwise` (the SKU, or the id). */
const uniqueField = (otherwise: string) => (err: unknown) => {
  const e = err as { message?: string; constraint?: string; meta?: unknown };
  const said = `${e.constraint ?? ''} ${e.message ?? ''} ${JSON.stringify(e.meta ?? null)}`;
  return said.includes('barcode') ? 'barcode' : otherwise;
};

export interface ListProductsArgs extends PageArgs {
  search?: string | null;
  includeArchived?: boolean | null;
}

export function listProducts(query: Query, args: ListProductsArgs, ctx: Context) {
  requireViewer(ctx);
  const search = parse(searchTerm, args.search);
  const like = search ? likeLiteral(search) : '';
  const where: Prisma.ProductWhereInput = {
    ...(args.includeArchived ? {} : { active: true }),
    ...(search
      ? {
          OR: [
            { name: { contains: like, mode: 'insensitive' } },
            { sku: { contains: like, mode: 'insensitive' } },
            { barcode: { contains: like, mode: 'insensitive' } },
          ],
        }
      : {}),
  };
  return readPage(ctx, args, (tx, window) =>
    tx.product.findMany({ ...query, where, orderBy: [{ name: 'asc' }, { id: 'asc' }], ...window }),
  );
}

export function getProduct(query: Query, productId: string, ctx: Context) {
  requireViewer(ctx);
  if (!id.safeParse(productId).success) return null;
  return ctx.db.prisma.product.findUnique({ ...query, where: { id: productId } });
}

export interface CreateProductArgs {
  input: {
    id?: string | null;
    sku: string;
    barcode?: string | null;
    name: string;
    description?: string | null;
    unitPrice: string;
  };
  idempotencyKey?: string | null;
}

export function createProduct(args: CreateProductArgs, ctx: Context): Promise<Product> {
  assertCan(requireViewer(ctx), 'editCatalog');
  const input = parse(createInput, args.input);
  return writeTx(
    ctx,
    { operation: 'createProduct', args: args.input, idempotencyKey: args.idempotencyKey },
    (tx) =>
      uniqueAsValidation(uniqueField(input.id ? 'id or sku' : 'sku'), () =>
        tx.product.create({ data: { ...input, id: input.id ?? undefined } }),
      ),
  );
}

export interface UpdateProductArgs {
  id: string;
  expectedVersion: number;
  patch: {
    sku?: string | null;
    barcode?: string | null;
    name?: string | null;
    description?: string | null;
    unitPrice?: string | null;
  };
  idempotencyKey?: string | null;
}

function editProduct(
  ctx: Context,
  operation: string,
  a: { id: string; expectedVersion: number; idempotencyKey?: string | null },
  patch: Record<string, unknown>,
  requestArgs: unknown,
): Promise<Product> {
  const productId = parse(id, a.id);
  const expectedVersion = parse(version, a.expectedVersion);
  return sqlWriteTx(ctx, { operation, args: requestArgs, idempotencyKey: a.idempotencyKey }, (sql) =>
    uniqueAsValidation(uniqueField('sku'), () => editProductSql(sql, productId, expectedVersion, patch)),
  );
}

export function updateProduct(args: UpdateProductArgs, ctx: Context): Promise<Product> {
  assertCan(requireViewer(ctx), 'editCatalog');
  const patch = parse(patchInput, args.patch);
  const { idempotencyKey, ...request } = args;
  return editProduct(ctx, 'updateProduct', args, patch, request);
}

export function archiveProduct(
  args: { id: string; expectedVersion: number; idempotencyKey?: string | null },
  ctx: Context,
): Promise<Product> {
  assertCan(requireViewer(ctx), 'editCatalog');
  const { idempotencyKey, ...request } = args;
  return editProduct(ctx, 'archiveProduct', args, { active: false }, request);
}

import { scope } from '../auth/access.ts';
import { builder } from '../builder.ts';
import {
  ForbiddenError,
  IdempotencyKeyReusedError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.ts';
import {
  archiveProduct,
  createProduct,
  getProduct,
  listProducts,
  updateProduct,
} from '../resolvers/product.ts';
import { requireViewer } from '../resolvers/viewer.ts';
import { asQueryResult, connectionType, nodeQuery } from './connection.ts';

export const ProductRef = builder.prismaObject('Product', {
  description: 'A catalogue item. Archived (active: false), never deleted: orders keep pointing at it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    sku: t.exposeString('sku'),
    barcode: t.exposeString('barcode', {
      nullable: true,
      description: 'A scanner code (EAN/UPC or other), unique like the SKU.',
    }),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    unitPrice: t.expose('unitPrice', { type: 'Decimal' }),
    active: t.exposeBoolean('active'),
    version: t.exposeInt('version'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    updatedBy: t.exposeString('updatedBy', { nullable: true }),
    stockLevels: t.relation('stockLevels', {
      description: 'Stock of this product at the branches the viewer may see.',
      query: (_args, ctx) => ({ where: scope.stockLevel(requireViewer(ctx)), orderBy: { branchId: 'asc' } }),
    }),
  }),
});

const ProductConnection = connectionType('Product', ProductRef);

builder.queryFields((t) => ({
  products: t.field({
    type: ProductConnection,
    description: 'Products by name; archived ones only with includeArchived.',
    args: {
      search: t.arg.string({ description: 'Part of the name, SKU or barcode (case-insensitive).' }),
      includeArchived: t.arg.boolean(),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: (_root, args, ctx, info) => asQueryResult(() => listProducts(nodeQuery(ctx, info), args, ctx)),
  }),
  product: t.prismaField({
    type: 'Product',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => getProduct(query, String(args.id), ctx),
  }),
}));

const ProductInput = builder.inputType('CreateProductInput', {
  fields: (t) => ({
    id: t.id({ description: 'A client-generated UUID (optional).' }),
    sku: t.string({ required: true }),
    barcode: t.string({ description: 'A scanner code, unique; empty or omitted for none.' }),
    name: t.string({ required: true }),
    description: t.string(),
    unitPrice: t.field({ type: 'Decimal', required: true }),
  }),
});

const ProductPatch = builder.inputType('ProductPatch', {
  description: 'Fields to change; omitted fields stay as they are.',
  fields: (t) => ({
    sku: t.string(),
    barcode: t.string({ description: 'Empty clears it.' }),
    name: t.string(),
    description: t.string(),
    unitPrice: t.field({ type: 'Decimal' }),
  }),
});

const editErrors = [
  NotFoundError,
  VersionConflictError,
  ValidationError,
  ForbiddenError,
  IdempotencyKeyReusedError,
];

builder.mutationFields((t) => ({
  createProduct: t.field({
    type: ProductRef,
    errors: { types: [ValidationError, ForbiddenError, IdempotencyKeyReusedError] },
    args: { input: t.arg({ type: ProductInput, required: true }), idempotencyKey: t.arg.string() },
    resolve: (_root, args, ctx) =>
      createProduct({ ...args, input: { ...args.input, id: args.input.id?.toString() } }, ctx),
  }),
  updateProduct: t.field({
    type: ProductRef,
    errors: { types: editErrors },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      patch: t.arg({ type: ProductPatch, required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => updateProduct({ ...args, id: String(args.id) }, ctx),
  }),
  archiveProduct: t.field({
    type: ProductRef,
    errors: { types: editErrors },
    args: {
      id: t.arg.id({ required: true }),
      expectedVersion: t.arg.int({ required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => archiveProduct({ ...args, id: String(args.id) }, ctx),
  }),
}));

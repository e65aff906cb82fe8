/**
 * Typed subscriptions on the change feed: each change of a product, of a branch's stock levels or
 * of a branch's orders, as the same object types the queries return. They run on the same stream
 * as `changes` (same authorization, grouping and slow-subscriber rules) and resolve from the row
 * image the change carries; deletes are not delivered here (use `changes`).
 */
import { builder } from '../builder.ts';
import type { Order, Product, StockLevel } from '../generated/prisma/client.ts';
import { rowImage } from '../resolvers/feed.ts';
import { uuidArg } from './feed.ts';
import { OrderRef } from './order.ts';
import { ProductRef } from './product.ts';
import { StockLevelRef } from './stock-level.ts';

builder.subscriptionFields((t) => ({
  productChanged: t.field({
    type: ProductRef,
    description: 'Every change of one product (name, price, archiving...), as the product after it.',
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => {
      const productId = uuidArg('id', args.id);
      return ctx.feed.changes(
        ctx,
        { tables: ['products'] },
        (row) => row.data !== null && row.rowId === productId,
      );
    },
    resolve: (row) => rowImage<Product>(row) as Product,
  }),
  stockLevels: t.field({
    type: StockLevelRef,
    description:
      "Every change of a branch's stock levels (quantities, reorder levels), as the stock level after it.",
    args: { branchId: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) =>
      ctx.feed.changes(
        ctx,
        { tables: ['stock_levels'], branchId: uuidArg('branchId', args.branchId) },
        (row) => row.data !== null,
      ),
    resolve: (row) => rowImage<StockLevel>(row) as StockLevel,
  }),
  orders: t.field({
    type: OrderRef,
    description: 'Every new or changed order of a branch (placed, paid, cancelled), as the order after it.',
    args: { branchId: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) =>
      ctx.feed.changes(
        ctx,
        { tables: ['orders'], branchId: uuidArg('branchId', args.branchId) },
        (row) => row.data !== null,
      ),
    resolve: (row) => rowImage<Order>(row) as Order,
  }),
}));

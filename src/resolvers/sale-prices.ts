/**
 * The moment and the prices of a sale made on a device (placeOrder).
 *
 * - `saleTime`: the device's soldAt, at most SALE_MAX_AGE_MS (7 days) before the sale reached the
 *   server; up to SALE_CLOCK_SKEW_MS (5 minutes) ahead of the server's clock it counts as the
 *   arrival time (a till whose clock runs fast); older, or further ahead, is a ValidationError on
 *   `input.soldAt` and nothing is written. Without soldAt the sale is dated on arrival.
 * - `priceLines`: per line, the catalogue price now (`listUnitPrice`), the price the till showed
 *   (`shownUnitPrice`, when sent) and the price charged (`unitPrice`): the shown one under the
 *   `shown` policy, else the catalogue price. A shown price is accepted only if the product had it
 *   at some moment from 7 days before the sale until now (product_prices, written by a trigger on
 *   every price change): a client cannot name prices of its own.
 */
import { ValidationError } from '../errors.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { type PricePolicy, SALE_CLOCK_SKEW_MS, SALE_MAX_AGE_MS } from '../sales.ts';
import type { Tx } from './tx.ts';

export function saleTime(soldAt: Date | null | undefined, now: Date): Date {
  if (!soldAt) return now;
  const at = soldAt.getTime();
  if (at > now.getTime() + SALE_CLOCK_SKEW_MS) {
    throw new ValidationError('soldAt is in the future (is the device clock right?)', [
      { path: ['input', 'soldAt'], message: `is after the server's time ${now.toISOString()}` },
    ]);
  }
  if (at < now.getTime() - SALE_MAX_AGE_MS) {
    throw new ValidationError('soldAt is more than 7 days ago', [
      {
        path: ['input', 'soldAt'],
        message: `is before ${new Date(now.getTime() - SALE_MAX_AGE_MS).toISOString()}, 7 days ago`,
      },
    ]);
  }
  return at > now.getTime() ? now : soldAt;
}

export interface SaleLine {
  productId: string;
  quantity: number;
  /** The unit price the till showed, as a decimal string. */
  shown: string | null;
}

export interface PricedLine {
  productId: string;
  quantity: number;
  unitPrice: Prisma.Decimal;
  listUnitPrice: Prisma.Decimal;
  shownUnitPrice: Prisma.Decimal | null;
  lineTotal: Prisma.Decimal;
}

export async function priceLines(
  tx: Tx,
  lines: SaleLine[],
  catalogue: Map<string, Prisma.Decimal>,
  soldAt: Date,
  policy: PricePolicy,
): Promise<PricedLine[]> {
  const differing = lines.filter(
    (l) => l.shown !== null && !new Prisma.Decimal(l.shown).eq(catalogue.get(l.productId) as Prisma.Decimal),
  );
  const had = new Map<string, Prisma.Decimal[]>();
  if (differing.length > 0) {
    const since = new Date(soldAt.getTime() - SALE_MAX_AGE_MS);
    const rows = await tx.productPrice.findMany({
      where: {
        productId: { in: differing.map((l) => l.productId) },
        OR: [{ validTo: null }, { validTo: { gte: since } }],
      },
      select: { productId: true, unitPrice: true },
    });
    for (const r of rows) had.set(r.productId, [...(had.get(r.productId) ?? []), r.unitPrice]);
  }
  return lines.map((l) => {
    const list = catalogue.get(l.productId) as Prisma.Decimal;
    const shown = l.shown === null ? null : new Prisma.Decimal(l.shown);
    if (shown && !shown.eq(list) && !(had.get(l.productId) ?? []).some((p) => p.eq(shown))) {
      throw new ValidationError('A shown price was not the price of its product', [
        {
          path: ['input', 'items', 'shownUnitPrice'],
          message: `${l.productId}: ${shown.toFixed(2)} was not its price at any time since 7 days before the sale`,
        },
      ]);
    }
    const unitPrice = shown && policy === 'shown' ? shown : list;
    return {
      productId: l.productId,
      quantity: l.quantity,
      unitPrice,
      listUnitPrice: list,
      shownUnitPrice: shown,
      lineTotal: unitPrice.mul(l.quantity),
    };
  });
}

/**
 * What a business decides about sales at the till: the policy for a price that changed while a
 * till was offline, its name on receipts, and the tax shown on them. Read once at boot
 * (src/config.ts) and handed to the resolvers in the context.
 */

/**
 * `shown`: a sale is charged the unit price the till showed (if the product had that price in
 * the week before the sale); `current`: the catalogue price when the sale reaches the server.
 * Either way the order records both and shows that the price changed.
 */
export type PricePolicy = 'shown' | 'current';

export interface SalesSettings {
  pricePolicy: PricePolicy;
  /** On receipts. */
  businessName: string;
  /** Tax included in prices, in percent (e.g. 20); null: no tax line on receipts. */
  taxRatePercent: number | null;
  /** The tax's name on receipts, e.g. VAT. */
  taxLabel: string;
  /** ISO 4217 code of the money everywhere (prices, totals, payments), e.g. EUR. */
  currency: string;
  /** How the app writes the currency, e.g. "Fr."; null: the browser language's own symbol. */
  currencySymbol: string | null;
}

export const DEFAULT_SALES_SETTINGS: SalesSettings = {
  pricePolicy: 'shown',
  businessName: 'Branchline',
  taxRatePercent: null,
  taxLabel: 'VAT',
  currency: 'EUR',
  currencySymbol: null,
};

/** How far back a sale made on a device may be dated (soldAt). */
export const SALE_MAX_AGE_MS = 7 * 86_400_000;

/**
 * How far ahead of the server's clock a device's soldAt may be and still count as "now" (a till
 * whose clock runs a little fast); further ahead is refused.
 */
export const SALE_CLOCK_SKEW_MS = 5 * 60_000;

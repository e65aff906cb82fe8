/** Payments and refunds of orders, the payment taken at the till, and the sales settings. */
import { builder } from '../builder.ts';
import { PaymentKind, PaymentMethod } from '../generated/prisma/enums.ts';
import type { SalesSettings } from '../sales.ts';

export const PaymentMethodEnum = builder.enumType(PaymentMethod, {
  name: 'PaymentMethod',
  description: "CASH, CARD, ACCOUNT (the order's customer's account) or OTHER (paid some other way).",
});
const PaymentKindEnum = builder.enumType(PaymentKind, { name: 'PaymentKind' });

export const PaymentRef = builder.prismaObject('Payment', {
  fields: (t) => ({
    id: t.exposeID('id'),
    orderId: t.exposeID('orderId'),
    kind: t.expose('kind', { type: PaymentKindEnum }),
    method: t.expose('method', { type: PaymentMethodEnum }),
    amount: t.expose('amount', { type: 'Decimal', description: 'Negative for a refund.' }),
    tendered: t.expose('tendered', { type: 'Decimal', nullable: true, description: 'Cash handed over.' }),
    change: t.expose('change', { type: 'Decimal', nullable: true, description: 'Cash given back.' }),
    customerId: t.exposeID('customerId', { nullable: true, description: 'The account charged (ACCOUNT).' }),
    version: t.exposeInt('version'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedBy: t.exposeString('updatedBy', { nullable: true }),
  }),
});

export const PaymentInputRef = builder.inputType('PaymentInput', {
  description:
    'A payment taken at the till. CASH: tendered (default: the exact amount) must cover the amount due; ACCOUNT needs the order to have a customer.',
  fields: (t) => ({
    method: t.field({ type: PaymentMethodEnum, required: true }),
    tendered: t.field({ type: 'Decimal', description: 'Cash handed over (CASH only).' }),
  }),
});

const SalesSettingsRef = builder.objectRef<SalesSettings>('SalesSettings').implement({
  description: 'What receipts show and how a price changed while a till was offline is charged.',
  fields: (t) => ({
    businessName: t.exposeString('businessName'),
    taxRatePercent: t.exposeFloat('taxRatePercent', {
      nullable: true,
      description: 'Tax included in prices, in percent; null when receipts show no tax.',
    }),
    taxLabel: t.exposeString('taxLabel'),
    currency: t.exposeString('currency', {
      description: 'ISO 4217 code of all amounts (CURRENCY), e.g. EUR.',
    }),
    currencySymbol: t.exposeString('currencySymbol', {
      nullable: true,
      description: "How to write the currency (CURRENCY_SYMBOL); null: the browser language's symbol.",
    }),
    offlinePricePolicy: t.string({
      description:
        '`shown`: a sale is charged the unit prices the till showed; `current`: the catalogue prices when it arrives (OFFLINE_PRICE_POLICY).',
      resolve: (s) => s.pricePolicy,
    }),
  }),
});

builder.queryField('salesSettings', (t) =>
  t.field({ type: SalesSettingsRef, resolve: (_root, _args, ctx) => ctx.sales }),
);

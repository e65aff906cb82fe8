/**
 * The receipt of a sale: business name, branch, order number, time of sale, lines, total, the tax
 * included (when configured), payments with cash tendered and change, and a note for every price
 * that changed while the till was offline (both prices and the one charged). A sale still queued
 * on this device prints as "not yet sent", without a number. The print stylesheet prints only the
 * receipt.
 */
import { gql, useQuery } from 'urql';
import { dateTime, money } from '../lib/format.ts';

export const Receipt_SettingsQuery = gql`
  query Receipt_SettingsQuery {
    salesSettings {
      businessName
      taxRatePercent
      taxLabel
      offlinePricePolicy
    }
  }
`;

/** What the receipt and the order detail read of an order. */
export const ORDER_DETAIL_FIELDS = `
  id number status version total amountPaid balanceDue priceChanged soldAt placedAt paidAt cancelledAt
  branch { id code name address }
  customer { id name }
  items { id productId quantity unitPrice shownUnitPrice listUnitPrice priceChanged lineTotal product { id sku name } }
  payments { id kind method amount tendered change createdAt updatedBy }
`;

export const ReceiptView_Query = gql`
  query ReceiptView_Query($id: ID!) {
    order(id: $id) { ${ORDER_DETAIL_FIELDS} }
  }
`;

export interface ReceiptLine {
  name: string;
  sku: string;
  quantity: number;
  unitPrice: string;
  shownUnitPrice: string | null;
  listUnitPrice: string | null;
  priceChanged: boolean;
  lineTotal: string;
}

export interface ReceiptPayment {
  kind: string;
  method: string;
  amount: string;
  tendered: string | null;
  change: string | null;
}

export interface ReceiptData {
  /** null while the sale is queued on this device. */
  number: string | null;
  status: string;
  branch: { code: string; name: string; address?: string | null };
  customer: string | null;
  soldAt: string;
  lines: ReceiptLine[];
  total: string;
  balanceDue: string;
  payments: ReceiptPayment[];
}

export interface OrderDetail {
  id: string;
  number: string;
  status: string;
  version: number;
  total: string;
  amountPaid: string;
  balanceDue: string;
  priceChanged: boolean;
  soldAt: string;
  placedAt: string | null;
  paidAt: string | null;
  cancelledAt: string | null;
  branch: { id: string; code: string; name: string; address: string | null };
  customer: { id: string; name: string } | null;
  items: (Omit<ReceiptLine, 'name' | 'sku'> & {
    id: string;
    product: { id: string; sku: string; name: string };
  })[];
  payments: (ReceiptPayment & { id: string; createdAt: string; updatedBy: string | null })[];
}

export function receiptOf(o: OrderDetail): ReceiptData {
  return {
    number: o.number,
    status: o.status,
    branch: o.branch,
    customer: o.customer?.name ?? null,
    soldAt: o.soldAt,
    lines: o.items.map((i) => ({ ...i, name: i.product.name, sku: i.product.sku })),
    total: o.total,
    balanceDue: o.balanceDue,
    payments: o.payments,
  };
}

export const METHOD: Record<string, string> = {
  CASH: 'Cash',
  CARD: 'Card',
  ACCOUNT: 'On account',
  OTHER: 'Paid',
};

/** "Price changed while offline: Tea — shown 11.81, now 22.22; charged 11.81." per changed line. */
export function priceNotes(lines: ReceiptLine[]): string[] {
  return lines
    .filter((l) => l.priceChanged)
    .map(
      (l) =>
        `${l.name} — shown ${money(l.shownUnitPrice)}, now ${money(l.listUnitPrice)}; charged ${money(l.unitPrice)}`,
    );
}

export function PriceChangedNote({ lines }: { lines: ReceiptLine[] }) {
  const notes = priceNotes(lines);
  if (notes.length === 0) return null;
  return (
    <div className="price-note" role="note" data-testid="price-note">
      <strong>Price changed while offline.</strong>
      <ul>
        {notes.map((n) => (
          <li key={n}>{n}</li>
        ))}
      </ul>
    </div>
  );
}

interface Settings {
  businessName: string;
  taxRatePercent: number | null;
  taxLabel: string;
}

export function Receipt({ r, onClose }: { r: ReceiptData; onClose?: () => void }) {
  const [{ data }] = useQuery({ query: Receipt_SettingsQuery });
  const settings: Settings = data?.salesSettings ?? {
    businessName: 'Branchline',
    taxRatePercent: null,
    taxLabel: 'VAT',
  };
  const rate = settings.taxRatePercent;
  const tax = rate ? (Number(r.total) * rate) / (100 + rate) : 0;
  const paid = r.payments.filter((p) => p.kind === 'PAYMENT');
  const refunds = r.payments.filter((p) => p.kind === 'REFUND');
  const due = Number(r.balanceDue);
  return (
    <section className="receipt" aria-label="Receipt" data-testid="receipt">
      <header>
        <h2>{settings.businessName}</h2>
        <p>
          {r.branch.code} · {r.branch.name}
          {r.branch.address ? <span className="address">{r.branch.address}</span> : null}
        </p>
        <p data-testid="receipt-number">
          {r.number ? (
            `Order ${r.number}`
          ) : (
            <span className="pending-tag">Not yet sent: number to follow</span>
          )}
        </p>
        <p>
          <time dateTime={r.soldAt}>{dateTime(r.soldAt)}</time>
          {r.customer ? ` · ${r.customer}` : ''}
        </p>
      </header>
      <table className="lines">
        <caption className="sr-only">Items</caption>
        <tbody>
          {r.lines.map((l) => (
            <tr key={l.sku}>
              <td>
                {l.name}
                <small>
                  {l.quantity} × {money(l.unitPrice)}
                </small>
              </td>
              <td className="num">{money(l.lineTotal)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr className="total">
            <th scope="row">Total</th>
            <td className="num" data-testid="receipt-total">
              {money(r.total)}
            </td>
          </tr>
          {rate ? (
            <tr>
              <th scope="row">
                of which {settings.taxLabel} {rate}%
              </th>
              <td className="num" data-testid="receipt-tax">
                {money(tax.toFixed(2))}
              </td>
            </tr>
          ) : null}
          {paid.map((p) => (
            <PaymentRows key={`${p.method}:${p.amount}:${p.tendered}`} p={p} />
          ))}
          {refunds.map((p) => (
            <tr key={`refund:${p.method}:${p.amount}`}>
              <th scope="row">Refund ({METHOD[p.method] ?? p.method})</th>
              <td className="num">{money(p.amount)}</td>
            </tr>
          ))}
          {r.status !== 'CANCELLED' && due > 0 && (
            <tr>
              <th scope="row">Balance due</th>
              <td className="num" data-testid="receipt-due">
                {money(r.balanceDue)}
              </td>
            </tr>
          )}
          {r.status !== 'CANCELLED' && due < 0 && (
            <tr>
              <th scope="row">Owed to the customer</th>
              <td className="num">{money(-due)}</td>
            </tr>
          )}
        </tfoot>
      </table>
      {r.status === 'CANCELLED' && <p className="error">Cancelled</p>}
      <PriceChangedNote lines={r.lines} />
      <p className="thanks">Thank you</p>
      <div className="buttons no-print">
        <button type="button" onClick={() => window.print()}>
          Print receipt
        </button>
        {onClose && (
          <button type="button" onClick={onClose}>
            New sale
          </button>
        )}
      </div>
    </section>
  );
}

function PaymentRows({ p }: { p: ReceiptPayment }) {
  return (
    <>
      <tr>
        <th scope="row">{METHOD[p.method] ?? p.method}</th>
        <td className="num">{money(p.tendered ?? p.amount)}</td>
      </tr>
      {p.change !== null && (
        <tr>
          <th scope="row">Change</th>
          <td className="num" data-testid="receipt-change">
            {money(p.change)}
          </td>
        </tr>
      )}
    </>
  );
}

/** `#/receipt/<order id>`: the receipt of an order, to print again. */
export function ReceiptView({ id }: { id: string }) {
  const [{ data, error, fetching }] = useQuery({ query: ReceiptView_Query, variables: { id } });
  const order = data?.order as OrderDetail | null | undefined;
  return (
    <section aria-labelledby="receipt-title" className="receipt-page">
      <p className="no-print">
        <a href={`#/orders/${id}`}>← Order</a>
      </p>
      <h1 id="receipt-title" className="sr-only">
        Receipt
      </h1>
      {error && !data && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      {!order && !fetching && !error && <p>No such order.</p>}
      {order && <Receipt r={receiptOf(order)} />}
    </section>
  );
}

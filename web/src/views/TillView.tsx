/**
 * The till: optional customer, products added by search or SKU, quantities, total, payment (cash
 * with change due, card, on account, or later) and place order, in one step: the sale, its time
 * (soldAt, this device's clock) and the unit prices shown here go to the server together, so a
 * sale made offline is charged what the clerk saw (or, by the business's policy, noted when it is
 * not). The till counts this device's queued sales and refuses to sell more than that leaves.
 * Insufficient stock names the item and what is available. Offline, or with the server out of
 * reach, the order is queued within 2 s and placed when the connection returns; if it can no
 * longer be fulfilled it shows in the outbox. The receipt follows the sale (numbered once sent).
 */
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { gql, useQuery } from 'urql';
import { money } from '../lib/format.ts';
import { useStore } from '../lib/store.ts';
import { Errors_Fragment, outcomeText } from '../operations.ts';
import { useQueuedStock } from '../outbox/pending.ts';
import { defineMutation, delivered, enqueue } from '../outbox/queue.ts';
import type { Session } from '../session.ts';
import { OutcomeMessage } from './OutcomeMessage.tsx';
import { Receipt, type ReceiptData, ReceiptView_Query, receiptOf } from './Receipt.tsx';
import { type StockRow, StockView_Query } from './StockView.tsx';
import { type Line, TillCart } from './TillCart.tsx';
import { TillCustomer } from './TillCustomer.tsx';
import { type Payment, paymentInput, paymentProblem, TillPayment } from './TillPayment.tsx';

export const TillView_CustomersQuery = gql`
  query TillView_CustomersQuery {
    customers(first: 200) {
      edges {
        node {
          id
          name
          phone
        }
      }
    }
  }
`;

export const TillView_PlaceOrder = defineMutation({
  name: 'placeOrder',
  document: gql`
    mutation TillView_PlaceOrder($input: PlaceOrderInput!, $idempotencyKey: String) {
      placeOrder(input: $input, idempotencyKey: $idempotencyKey) {
        __typename
        ... on MutationPlaceOrderSuccess {
          data {
            id
            number
            status
            total
            itemCount
            version
            soldAt
            placedAt
            priceChanged
            balanceDue
          }
        }
        ...Errors_Fragment
      }
    }
    ${Errors_Fragment}
  `,
});

/** The receipt on screen: of a placed order, or of a sale still queued on this device. */
type Shown = { kind: 'order'; id: string } | { kind: 'queued'; seq?: number; receipt: ReceiptData };

export function TillView({ s }: { s: Session }) {
  const [{ data }] = useQuery({ query: StockView_Query, variables: { branchId: s.branchId } });
  const [{ data: customersData }] = useQuery({ query: TillView_CustomersQuery });
  const [customerId, setCustomerId] = useState('');
  const [search, setSearch] = useState('');
  const [sku, setSku] = useState('');
  const [lines, setLines] = useState<Line[]>([]);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [short, setShort] = useState<Record<string, number>>({});
  const [busy, setBusy] = useState(false);
  const [payment, setPayment] = useState<Payment>({ method: 'CARD', tendered: '' });
  const [shown, setShown] = useState<Shown | null>(null);
  const queued = useQueuedStock(s.branchId);
  const sent = useStore(delivered);

  // A queued sale reached the server: its receipt gets the order's number (and any price note).
  useEffect(() => {
    if (shown?.kind !== 'queued' || shown.seq === undefined) return;
    const done = sent.find((d) => d.seq === shown.seq);
    if (done) setShown({ kind: 'order', id: String(done.data.id) });
  }, [sent, shown]);

  const stock: StockRow[] = useMemo(
    () =>
      (data?.stockLevels.edges.map((e: { node: StockRow }) => e.node) ?? []).filter(
        (r: StockRow) => r.product.active,
      ),
    [data],
  );
  const byProduct = useMemo(() => new Map(stock.map((r) => [r.productId, r])), [stock]);
  const customers: { id: string; name: string; phone: string | null }[] =
    customersData?.customers.edges.map(
      (e: { node: { id: string; name: string; phone: string | null } }) => e.node,
    ) ?? [];

  /** What may still be sold: stock minus this device's queued sales (plus queued receipts). */
  const available = (productId: string) =>
    (byProduct.get(productId)?.quantity ?? 0) + (queued.get(productId) ?? 0);
  const over: Record<string, number> = {};
  for (const l of lines) if (l.quantity > available(l.productId)) over[l.productId] = available(l.productId);

  function refuse(productId: string) {
    const n = available(productId);
    const inQueue = -(queued.get(productId) ?? 0);
    setShort({ [productId]: n });
    const name = byProduct.get(productId)?.product.name ?? 'An item';
    setMessage({
      ok: false,
      text: `Not enough stock: ${name} — only ${n} available${inQueue > 0 ? ` (${inQueue} more in sales not yet sent)` : ''}.`,
    });
  }

  const q = search.trim().toLowerCase();
  const matches = q
    ? stock
        .filter(
          (r) =>
            r.product.name.toLowerCase().includes(q) ||
            r.product.sku.toLowerCase().includes(q) ||
            (r.product.barcode ?? '').includes(q),
        )
        .slice(0, 8)
    : [];

  function add(productId: string) {
    setMessage(null);
    const inCart = lines.find((l) => l.productId === productId)?.quantity ?? 0;
    if (inCart + 1 > available(productId)) {
      refuse(productId);
      return;
    }
    setLines((prev) => {
      const found = prev.find((l) => l.productId === productId);
      if (found) return prev.map((l) => (l === found ? { ...l, quantity: l.quantity + 1 } : l));
      return [...prev, { productId, quantity: 1 }];
    });
  }

  function addSku(e: FormEvent) {
    e.preventDefault();
    const code = sku.trim().toLowerCase();
    const row = stock.find(
      (r) => r.product.sku.toLowerCase() === code || (r.product.barcode ?? '').toLowerCase() === code,
    );
    if (!row) {
      setMessage({ ok: false, text: `No product with SKU or barcode ${sku.trim()}.` });
      return;
    }
    add(row.productId);
    setSku('');
  }

  const total = lines.reduce(
    (sum, l) => sum + l.quantity * Number(byProduct.get(l.productId)?.product.unitPrice ?? 0),
    0,
  );

  async function place() {
    if (lines.length === 0) return;
    const tooMany = lines.find((l) => over[l.productId] !== undefined);
    if (tooMany) {
      refuse(tooMany.productId);
      return;
    }
    const problem = paymentProblem(payment, total, Boolean(customerId));
    if (problem) {
      setMessage({ ok: false, text: problem });
      return;
    }
    setBusy(true);
    setShort({});
    setShown(null);
    const count = lines.reduce((n, l) => n + l.quantity, 0);
    const soldAt = new Date().toISOString();
    const items = lines.map((l) => ({
      productId: l.productId,
      quantity: l.quantity,
      shownUnitPrice: byProduct.get(l.productId)?.product.unitPrice ?? null,
    }));
    const pay = paymentInput(payment);
    const outcome = await enqueue(
      TillView_PlaceOrder,
      { input: { branchId: s.branchId, customerId: customerId || null, soldAt, items, payment: pay } },
      {
        label: `Order of ${count} item${count === 1 ? '' : 's'} (${money(total)}): ${lines
          .map((l) => `${l.quantity} × ${byProduct.get(l.productId)?.product.name ?? 'item'}`)
          .join(', ')}${pay ? ` · ${payment.method.toLowerCase()}` : ''}`,
        record: `Order:new:${crypto.randomUUID()}`,
      },
    );
    setBusy(false);
    if (outcome.status === 'failed' && outcome.error.__typename === 'InsufficientStock') {
      const pid = String(outcome.error.productId);
      const available = Number(outcome.error.available);
      setShort({ [pid]: available });
      const name = byProduct.get(pid)?.product.name ?? 'An item';
      setMessage({ ok: false, text: `Not enough stock: ${name} — only ${available} available.` });
      return;
    }
    const done = outcome.status === 'done' ? `Order ${String(outcome.data.number)} placed.` : '';
    const text = outcomeText(outcome, done);
    setMessage(text);
    if (outcome.status === 'done') setShown({ kind: 'order', id: String(outcome.data.id) });
    if (outcome.status === 'queued') {
      const customer = customers.find((c) => c.id === customerId)?.name ?? null;
      const branch = s.branches.find((b) => b.id === s.branchId);
      const lineTotal = (l: (typeof items)[number]) =>
        (l.quantity * Number(l.shownUnitPrice ?? 0)).toFixed(2);
      const receipt: ReceiptData = {
        number: null,
        status: 'PLACED',
        branch: { code: branch?.code ?? '', name: branch?.name ?? '' },
        customer,
        soldAt,
        lines: items.map((l) => ({
          name: byProduct.get(l.productId)?.product.name ?? 'item',
          sku: byProduct.get(l.productId)?.product.sku ?? l.productId,
          quantity: l.quantity,
          unitPrice: String(l.shownUnitPrice ?? '0'),
          shownUnitPrice: l.shownUnitPrice,
          listUnitPrice: null,
          priceChanged: false,
          lineTotal: lineTotal(l),
        })),
        total: total.toFixed(2),
        balanceDue: pay ? '0' : total.toFixed(2),
        payments: pay
          ? [
              {
                kind: 'PAYMENT',
                method: pay.method,
                amount: total.toFixed(2),
                tendered: pay.tendered,
                change: pay.tendered
                  ? (Number(pay.tendered) - total).toFixed(2)
                  : pay.method === 'CASH'
                    ? '0.00'
                    : null,
              },
            ]
          : [],
      };
      setShown({ kind: 'queued', seq: outcome.seq, receipt });
    }
    if (text.ok) {
      setLines([]);
      setCustomerId('');
      setPayment({ method: payment.method, tendered: '' });
    }
  }

  return (
    <section aria-labelledby="till-title" className="till">
      <h1 id="till-title">Till</h1>
      <div className="till-grid">
        <div className="pick">
          <TillCustomer s={s} customers={customers} value={customerId} onChange={setCustomerId} />
          <form onSubmit={addSku} className="inline">
            <label>
              Add by SKU or barcode
              <input
                type="text"
                value={sku}
                onChange={(e) => setSku(e.target.value)}
                placeholder="SKU-0001 or scan"
                autoComplete="off"
                // biome-ignore lint/a11y/noAutofocus: the till opens ready for the scanner
                autoFocus
              />
            </label>
            <button type="submit">Add</button>
          </form>
          <label>
            Search products
            <input
              type="search"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
              placeholder="Name or SKU"
            />
          </label>
          {matches.length > 0 && (
            <ul className="matches" aria-label="Matching products">
              {matches.map((r) => (
                <li key={r.id}>
                  <button type="button" onClick={() => add(r.productId)} data-sku={r.product.sku}>
                    <span>
                      {r.product.name} <small className="muted">{r.product.sku}</small>
                    </span>
                    <span className="muted">
                      {money(r.product.unitPrice)} · {available(r.productId)} in stock
                      {queued.has(r.productId) ? ' (counting sales not yet sent)' : ''}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div className="cart">
          <TillCart
            lines={lines}
            byProduct={byProduct}
            short={{ ...over, ...short }}
            total={total}
            setLines={setLines}
          />
          <TillPayment
            payment={payment}
            setPayment={setPayment}
            total={total}
            hasCustomer={Boolean(customerId)}
          />
          <OutcomeMessage message={message} />
          <button
            type="button"
            className="primary big"
            disabled={busy || lines.length === 0}
            onClick={() => void place()}
          >
            {busy ? 'Placing…' : 'Place order'}
          </button>
        </div>
      </div>
      {shown?.kind === 'order' && <PlacedReceipt id={shown.id} onClose={() => setShown(null)} />}
      {shown?.kind === 'queued' && <Receipt r={shown.receipt} onClose={() => setShown(null)} />}
    </section>
  );
}

function PlacedReceipt({ id, onClose }: { id: string; onClose: () => void }) {
  const [{ data }] = useQuery({ query: ReceiptView_Query, variables: { id }, requestPolicy: 'network-only' });
  if (!data?.order) return null;
  return <Receipt r={receiptOf(data.order)} onClose={onClose} />;
}

/**
 * The till: optional customer, products added by search or SKU, quantities, total, place order.
 * Insufficient stock names the item and what is available. Offline, the order is queued and
 * placed when the connection returns; if it can no longer be fulfilled it shows in the outbox.
 */
import { type FormEvent, useMemo, useState } from 'react';
import { gql, useQuery } from 'urql';
import { money } from '../lib/format.ts';
import { Errors_Fragment, outcomeText } from '../operations.ts';
import { defineMutation, enqueue } from '../outbox/queue.ts';
import type { Session } from '../session.ts';
import { OutcomeMessage } from './OutcomeMessage.tsx';
import { type StockRow, StockView_Query } from './StockView.tsx';
import { type Line, TillCart } from './TillCart.tsx';

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
            placedAt
          }
        }
        ...Errors_Fragment
      }
    }
    ${Errors_Fragment}
  `,
});

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

  const q = search.trim().toLowerCase();
  const matches = q
    ? stock
        .filter((r) => r.product.name.toLowerCase().includes(q) || r.product.sku.toLowerCase().includes(q))
        .slice(0, 8)
    : [];

  function add(productId: string) {
    setMessage(null);
    setLines((prev) => {
      const found = prev.find((l) => l.productId === productId);
      if (found) return prev.map((l) => (l === found ? { ...l, quantity: l.quantity + 1 } : l));
      return [...prev, { productId, quantity: 1 }];
    });
  }

  function addSku(e: FormEvent) {
    e.preventDefault();
    const row = stock.find((r) => r.product.sku.toLowerCase() === sku.trim().toLowerCase());
    if (!row) {
      setMessage({ ok: false, text: `No product with SKU ${sku.trim()}.` });
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
    setBusy(true);
    setShort({});
    const count = lines.reduce((n, l) => n + l.quantity, 0);
    const outcome = await enqueue(
      TillView_PlaceOrder,
      { input: { branchId: s.branchId, customerId: customerId || null, items: lines } },
      {
        label: `Order of ${count} item${count === 1 ? '' : 's'} (${money(total)}): ${lines
          .map((l) => `${l.quantity} × ${byProduct.get(l.productId)?.product.name ?? 'item'}`)
          .join(', ')}`,
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
    if (text.ok) {
      setLines([]);
      setCustomerId('');
    }
  }

  return (
    <section aria-labelledby="till-title" className="till">
      <h1 id="till-title">Till</h1>
      <div className="till-grid">
        <div className="pick">
          <label>
            Customer (optional)
            <select value={customerId} onChange={(e) => setCustomerId(e.target.value)}>
              <option value="">Walk-in customer</option>
              {customers.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <form onSubmit={addSku} className="inline">
            <label>
              Add by SKU
              <input
                type="text"
                value={sku}
                onChange={(e) => setSku(e.target.value)}
                placeholder="SKU-0001"
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
                      {money(r.product.unitPrice)} · {r.quantity} in stock
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div className="cart">
          <TillCart lines={lines} byProduct={byProduct} short={short} total={total} setLines={setLines} />
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
    </section>
  );
}

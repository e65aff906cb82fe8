/**
 * Orders of the branch, latest sale first, live (new orders appear, statuses change), in pages of
 * 25 filtered by date of sale, status and customer; pay or cancel; each order opens its detail.
 * This device's queued sales head the first page, marked as not yet sent. The orders, or their
 * lines, as filtered (every page) can be exported as CSV.
 */
import { useState } from 'react';
import { gql, useClient, useQuery } from 'urql';
import { csvName, downloadCsv } from '../lib/csv.ts';
import { dateTime, money } from '../lib/format.ts';
import { Errors_Fragment, outcomeText } from '../operations.ts';
import { useQueuedSales } from '../outbox/pending.ts';
import { defineMutation, enqueue } from '../outbox/queue.ts';
import type { Session } from '../session.ts';
import { OutcomeMessage } from './OutcomeMessage.tsx';
import { TillView_CustomersQuery } from './TillView.tsx';

const PAGE = 25;

export const OrdersView_Query = gql`
  query OrdersView_Query(
    $branchId: ID!
    $status: OrderStatus
    $customerId: ID
    $from: DateTime
    $to: DateTime
    $first: Int
    $after: String
  ) {
    orders(
      branchId: $branchId
      status: $status
      customerId: $customerId
      from: $from
      to: $to
      first: $first
      after: $after
    ) {
      feedCursor
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          number
          status
          total
          itemCount
          soldAt
          placedAt
          paidAt
          cancelledAt
          createdAt
          priceChanged
          version
          customer {
            id
            name
          }
        }
      }
    }
  }
`;

export const OrdersView_ExportQuery = gql`
  query OrdersView_ExportQuery(
    $branchId: ID!
    $status: OrderStatus
    $customerId: ID
    $from: DateTime
    $to: DateTime
    $after: String
  ) {
    orders(
      branchId: $branchId
      status: $status
      customerId: $customerId
      from: $from
      to: $to
      first: 100
      after: $after
    ) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          number
          status
          soldAt
          placedAt
          itemCount
          total
          amountPaid
          balanceDue
          priceChanged
          customer {
            id
            name
          }
          items {
            id
            quantity
            unitPrice
            shownUnitPrice
            listUnitPrice
            lineTotal
            product {
              id
              sku
              name
            }
          }
        }
      }
    }
  }
`;

const ORDER = 'id number status total itemCount placedAt paidAt cancelledAt version';

export const OrdersView_Pay = defineMutation({
  name: 'payOrder',
  document: gql`
    mutation OrdersView_Pay($id: ID!, $expectedVersion: Int!, $payment: PaymentInput, $idempotencyKey: String) {
      payOrder(id: $id, expectedVersion: $expectedVersion, payment: $payment, idempotencyKey: $idempotencyKey) {
        __typename
        ... on MutationPayOrderSuccess { data { ${ORDER} } }
        ...Errors_Fragment
      }
    }
    ${Errors_Fragment}
  `,
  conflict: { kind: 'rebaseWhile', field: 'status', value: 'PLACED' },
});

export const OrdersView_Cancel = defineMutation({
  name: 'cancelOrder',
  document: gql`
    mutation OrdersView_Cancel($id: ID!, $expectedVersion: Int!, $idempotencyKey: String) {
      cancelOrder(id: $id, expectedVersion: $expectedVersion, idempotencyKey: $idempotencyKey) {
        __typename
        ... on MutationCancelOrderSuccess { data { ${ORDER} } }
        ...Errors_Fragment
      }
    }
    ${Errors_Fragment}
  `,
  conflict: { kind: 'rebaseWhile', field: 'status', value: 'PLACED' },
});

interface OrderRow {
  id: string;
  number: string;
  status: string;
  total: string;
  itemCount: number;
  soldAt: string;
  placedAt: string | null;
  createdAt: string;
  priceChanged: boolean;
  version: number;
  customer: { id: string; name: string } | null;
}

interface ExportRow extends Omit<OrderRow, 'version' | 'createdAt'> {
  amountPaid: string;
  balanceDue: string;
  items: {
    quantity: number;
    unitPrice: string;
    shownUnitPrice: string | null;
    listUnitPrice: string | null;
    lineTotal: string;
    product: { sku: string; name: string };
  }[];
}

const STATUSES = ['', 'PLACED', 'PAID', 'CANCELLED'];

/** Local midnight of an `<input type="date">` value, as an ISO timestamp; `days` later. */
const dayStart = (value: string, days = 0) => {
  if (!value) return null;
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d + days).toISOString();
};

/** Paying from the list or the detail: recorded as paid some other way (see OrderDetail). */
export async function actOnOrder(
  o: { id: string; number: string; version: number },
  what: 'pay' | 'cancel',
  payment?: { method: string; tendered?: string | null },
) {
  const def = what === 'pay' ? OrdersView_Pay : OrdersView_Cancel;
  const outcome = await enqueue(
    def,
    { id: o.id, expectedVersion: o.version, ...(what === 'pay' && payment ? { payment } : {}) },
    { label: `${what === 'pay' ? 'Pay' : 'Cancel'} order ${o.number}`, record: `Order:${o.id}` },
  );
  return outcomeText(outcome, `Order ${o.number} ${what === 'pay' ? 'paid' : 'cancelled'}.`);
}

export function OrdersView({ s }: { s: Session }) {
  const client = useClient();
  const [filters, setFilters] = useState({ status: '', customerId: '', from: '', to: '' });
  // The `after` cursor of each page shown so far (the first page has none).
  const [pages, setPages] = useState<(string | null)[]>([null]);
  const [exporting, setExporting] = useState(false);
  const vars = {
    branchId: s.branchId,
    status: filters.status || null,
    customerId: filters.customerId || null,
    from: dayStart(filters.from),
    to: dayStart(filters.to, 1),
  };
  const [{ data, error, fetching }] = useQuery({
    query: OrdersView_Query,
    variables: { ...vars, first: PAGE, after: pages.at(-1) },
  });
  const [{ data: customersData }] = useQuery({ query: TillView_CustomersQuery });
  const customers: { id: string; name: string }[] =
    customersData?.customers.edges.map((e: { node: { id: string; name: string } }) => e.node) ?? [];
  const queued = useQueuedSales(s.branchId);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const orders: OrderRow[] = [...(data?.orders.edges.map((e: { node: OrderRow }) => e.node) ?? [])].sort(
    (a, b) => b.soldAt.localeCompare(a.soldAt) || b.number.localeCompare(a.number),
  );
  const pageInfo = data?.orders.pageInfo as { hasNextPage: boolean; endCursor: string | null } | undefined;
  const setFilter = (k: keyof typeof filters, v: string) => {
    setFilters((f) => ({ ...f, [k]: v }));
    setPages([null]);
  };
  const branchCode = s.branches.find((b) => b.id === s.branchId)?.code;
  const customerName = (id: string | null) => customers.find((c) => c.id === id)?.name;

  async function exportCsv(what: 'orders' | 'lines') {
    setExporting(true);
    try {
      const all: ExportRow[] = [];
      let after: string | null = null;
      for (let i = 0; i < 100; i++) {
        const res = await client
          .query(OrdersView_ExportQuery, { ...vars, after }, { requestPolicy: 'network-only' })
          .toPromise();
        if (res.error || !res.data) throw new Error(res.error?.message ?? 'The server did not answer');
        all.push(...res.data.orders.edges.map((e: { node: ExportRow }) => e.node));
        if (!res.data.orders.pageInfo.hasNextPage) break;
        after = res.data.orders.pageInfo.endCursor;
      }
      if (what === 'orders') {
        downloadCsv(
          csvName('orders', branchCode),
          [
            'Number',
            'Sold at',
            'Received at',
            'Status',
            'Customer',
            'Items',
            'Total',
            'Paid',
            'Balance due',
            'Price changed offline',
          ],
          all.map((o) => [
            o.number,
            o.soldAt,
            o.placedAt,
            o.status,
            o.customer?.name,
            o.itemCount,
            o.total,
            o.amountPaid,
            o.balanceDue,
            o.priceChanged ? 'yes' : 'no',
          ]),
        );
      } else {
        downloadCsv(
          csvName('order-lines', branchCode),
          [
            'Number',
            'Sold at',
            'Status',
            'SKU',
            'Product',
            'Quantity',
            'Unit price',
            'Shown price',
            'Catalogue price',
            'Line total',
          ],
          all.flatMap((o) =>
            o.items.map((i) => [
              o.number,
              o.soldAt,
              o.status,
              i.product.sku,
              i.product.name,
              i.quantity,
              i.unitPrice,
              i.shownUnitPrice,
              i.listUnitPrice,
              i.lineTotal,
            ]),
          ),
        );
      }
    } catch (err) {
      setMessage({ ok: false, text: `Export failed: ${(err as Error).message}` });
    } finally {
      setExporting(false);
    }
  }

  return (
    <section aria-labelledby="orders-title">
      <div className="view-head">
        <h1 id="orders-title">Orders</h1>
        <div className="filters">
          <label>
            From
            <input type="date" value={filters.from} onChange={(e) => setFilter('from', e.target.value)} />
          </label>
          <label>
            To
            <input type="date" value={filters.to} onChange={(e) => setFilter('to', e.target.value)} />
          </label>
          <label>
            Status
            <select value={filters.status} onChange={(e) => setFilter('status', e.target.value)}>
              {STATUSES.map((st) => (
                <option key={st} value={st}>
                  {st ? st.toLowerCase() : 'all'}
                </option>
              ))}
            </select>
          </label>
          <label>
            Customer
            <select value={filters.customerId} onChange={(e) => setFilter('customerId', e.target.value)}>
              <option value="">all</option>
              {customers.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" disabled={exporting} onClick={() => void exportCsv('orders')}>
            Export orders (CSV)
          </button>
          <button type="button" disabled={exporting} onClick={() => void exportCsv('lines')}>
            Export order lines (CSV)
          </button>
        </div>
      </div>
      {error && !data && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      <OutcomeMessage message={message} />
      <div className="table-wrap">
        <table className="data orders">
          <thead>
            <tr>
              <th scope="col">Number</th>
              <th scope="col">Sold</th>
              <th scope="col">Customer</th>
              <th scope="col" className="num">
                Items
              </th>
              <th scope="col" className="num">
                Total
              </th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {pages.length === 1 &&
              queued.map((q) => (
                <tr key={`queued-${q.seq}`} className="queued" data-testid="queued-order">
                  <td>
                    <span className="pending-tag">Not yet sent</span>
                  </td>
                  <td>{dateTime(q.soldAt)}</td>
                  <td>{customerName(q.customerId) ?? <span className="muted">Walk-in</span>}</td>
                  <td className="num">{q.items.reduce((n, l) => n + l.quantity, 0)}</td>
                  <td className="num">
                    {money(q.items.reduce((sum, l) => sum + l.quantity * Number(l.shownUnitPrice ?? 0), 0))}
                  </td>
                  <td>
                    <span className="status">{q.payment ? 'to be paid' : 'to be placed'}</span>
                  </td>
                  <td className="actions">
                    <a href="#outbox">Outbox</a>
                  </td>
                </tr>
              ))}
            {orders.map((o) => (
              <tr key={o.id} data-testid="order-row" data-number={o.number}>
                <td>
                  <a href={`#/orders/${o.id}`}>{o.number}</a>
                  {o.priceChanged && (
                    <span className="pending-tag" title="A price changed while the till was offline">
                      {' '}
                      price changed
                    </span>
                  )}
                </td>
                <td>{dateTime(o.soldAt)}</td>
                <td>{o.customer?.name ?? <span className="muted">Walk-in</span>}</td>
                <td className="num">{o.itemCount}</td>
                <td className="num">{money(o.total)}</td>
                <td>
                  <span className={`status status-${o.status.toLowerCase()}`}>{o.status.toLowerCase()}</span>
                </td>
                <td className="actions">
                  {o.status === 'PLACED' && (
                    <button type="button" onClick={() => void actOnOrder(o, 'pay').then(setMessage)}>
                      Pay
                    </button>
                  )}
                  {(o.status === 'PLACED' || o.status === 'PAID') && (
                    <button type="button" onClick={() => void actOnOrder(o, 'cancel').then(setMessage)}>
                      Cancel
                    </button>
                  )}
                  <a href={`#/history/ORDERS/${o.id}`}>History</a>
                </td>
              </tr>
            ))}
            {data && orders.length === 0 && (pages.length > 1 || queued.length === 0) && (
              <tr>
                <td colSpan={7} className="muted">
                  No orders match.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pages of orders">
        <button type="button" disabled={pages.length === 1} onClick={() => setPages((p) => p.slice(0, -1))}>
          Previous
        </button>
        <span aria-live="polite">
          Page {pages.length}
          {fetching ? ' · loading…' : ''}
        </span>
        <button
          type="button"
          disabled={!pageInfo?.hasNextPage}
          onClick={() => setPages((p) => [...p, pageInfo?.endCursor ?? null])}
        >
          Next
        </button>
      </nav>
    </section>
  );
}

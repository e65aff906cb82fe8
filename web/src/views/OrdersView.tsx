/** Orders of the branch, newest first, live (new orders appear, statuses change); pay or cancel. */
import { useState } from 'react';
import { gql, useQuery } from 'urql';
import { dateTime, money } from '../lib/format.ts';
import { Errors_Fragment, outcomeText } from '../operations.ts';
import { defineMutation, enqueue } from '../outbox/queue.ts';
import type { Session } from '../session.ts';
import { OutcomeMessage } from './OutcomeMessage.tsx';

export const OrdersView_Query = gql`
  query OrdersView_Query($branchId: ID!, $status: OrderStatus) {
    orders(branchId: $branchId, status: $status, first: 100) {
      feedCursor
      edges {
        node {
          id
          number
          status
          total
          itemCount
          placedAt
          paidAt
          cancelledAt
          createdAt
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

const ORDER = 'id number status total itemCount placedAt paidAt cancelledAt version';

export const OrdersView_Pay = defineMutation({
  name: 'payOrder',
  document: gql`
    mutation OrdersView_Pay($id: ID!, $expectedVersion: Int!, $idempotencyKey: String) {
      payOrder(id: $id, expectedVersion: $expectedVersion, idempotencyKey: $idempotencyKey) {
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
  placedAt: string | null;
  createdAt: string;
  version: number;
  customer: { id: string; name: string } | null;
}

const STATUSES = ['', 'PLACED', 'PAID', 'CANCELLED'];

export function OrdersView({ s }: { s: Session }) {
  const [statusFilter, setStatusFilter] = useState('');
  const [{ data, error }] = useQuery({
    query: OrdersView_Query,
    variables: { branchId: s.branchId, status: statusFilter || null },
  });
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const orders: OrderRow[] = [...(data?.orders.edges.map((e: { node: OrderRow }) => e.node) ?? [])].sort(
    (a, b) => b.number.localeCompare(a.number),
  );

  async function act(o: OrderRow, what: 'pay' | 'cancel') {
    const def = what === 'pay' ? OrdersView_Pay : OrdersView_Cancel;
    const outcome = await enqueue(
      def,
      { id: o.id, expectedVersion: o.version },
      { label: `${what === 'pay' ? 'Pay' : 'Cancel'} order ${o.number}`, record: `Order:${o.id}` },
    );
    setMessage(outcomeText(outcome, `Order ${o.number} ${what === 'pay' ? 'paid' : 'cancelled'}.`));
  }

  return (
    <section aria-labelledby="orders-title">
      <div className="view-head">
        <h1 id="orders-title">Orders</h1>
        <div className="filters">
          <label>
            Status
            <select value={statusFilter} onChange={(e) => setStatusFilter(e.target.value)}>
              {STATUSES.map((st) => (
                <option key={st} value={st}>
                  {st ? st.toLowerCase() : 'all'}
                </option>
              ))}
            </select>
          </label>
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
              <th scope="col">Placed</th>
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
            {orders.map((o) => (
              <tr key={o.id} data-testid="order-row" data-number={o.number}>
                <td>{o.number}</td>
                <td>{dateTime(o.placedAt ?? o.createdAt)}</td>
                <td>{o.customer?.name ?? <span className="muted">Walk-in</span>}</td>
                <td className="num">{o.itemCount}</td>
                <td className="num">{money(o.total)}</td>
                <td>
                  <span className={`status status-${o.status.toLowerCase()}`}>{o.status.toLowerCase()}</span>
                </td>
                <td className="actions">
                  {o.status === 'PLACED' && (
                    <button type="button" onClick={() => void act(o, 'pay')}>
                      Pay
                    </button>
                  )}
                  {(o.status === 'PLACED' || o.status === 'PAID') && (
                    <button type="button" onClick={() => void act(o, 'cancel')}>
                      Cancel
                    </button>
                  )}
                  <a href={`#/history/ORDERS/${o.id}`}>History</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

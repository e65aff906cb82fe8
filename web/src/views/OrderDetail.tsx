/**
 * One order (`#/orders/<id>`, reached from Orders): lines with the prices charged (and the note
 * when one changed while the till was offline), payments and refunds, the balance, the order's
 * history, and pay (with a method) / cancel / print the receipt. Follows the order live: when the
 * feed brings a new version, the detail reloads.
 */
import { useEffect, useRef, useState } from 'react';
import { gql, useQuery } from 'urql';
import { dateTime, money } from '../lib/format.ts';
import { actOnOrder } from './OrdersView.tsx';
import { OutcomeMessage } from './OutcomeMessage.tsx';
import {
  type OrderDetail as Detail,
  METHOD,
  ORDER_DETAIL_FIELDS,
  PriceChangedNote,
  receiptOf,
} from './Receipt.tsx';
import { type Payment, paymentInput, paymentProblem, TillPayment } from './TillPayment.tsx';

export const OrderDetail_Query = gql`
  query OrderDetail_Query($id: ID!) {
    order(id: $id) { ${ORDER_DETAIL_FIELDS} }
    history(table: ORDERS, id: $id) {
      op
      version
      actor
      at
      changedFields
    }
  }
`;

interface Entry {
  op: string;
  version: number | null;
  actor: string | null;
  at: string;
  changedFields: string[];
}

const describe = (e: Entry) =>
  e.op === 'INSERT' ? 'Placed' : e.op === 'DELETE' ? 'Deleted' : `Changed ${e.changedFields.join(', ')}`;

export function OrderDetail({ id }: { id: string }) {
  const [{ data, error, fetching }, reload] = useQuery({ query: OrderDetail_Query, variables: { id } });
  const order = data?.order as Detail | null | undefined;
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [payment, setPayment] = useState<Payment>({ method: 'CARD', tendered: '' });
  const version = order?.version;
  const shownVersion = useRef(version);

  // A new version from the feed (paid, cancelled elsewhere): reload payments and history too.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload only when the version moves
  useEffect(() => {
    const before = shownVersion.current;
    shownVersion.current = version;
    if (before !== undefined && version !== undefined && version !== before) {
      reload({ requestPolicy: 'network-only' });
    }
  }, [version]);

  if (!order) {
    return (
      <section aria-labelledby="order-title">
        <h1 id="order-title">Order</h1>
        {error && !data && (
          <p className="error" role="alert">
            {error.message}
          </p>
        )}
        {!fetching && !error && <p>No such order.</p>}
      </section>
    );
  }
  const due = Number(order.balanceDue);
  const entries: Entry[] = data?.history ?? [];

  async function pay() {
    if (!order) return;
    const problem = paymentProblem(payment, due, Boolean(order.customer));
    if (problem) return setMessage({ ok: false, text: problem });
    const input = paymentInput(payment);
    setMessage(await actOnOrder(order, 'pay', input ?? undefined));
  }

  return (
    <section aria-labelledby="order-title" className="order-detail">
      <p>
        <a href="#/orders">← Orders</a>
      </p>
      <div className="view-head">
        <h1 id="order-title">Order {order.number}</h1>
        <span className={`status status-${order.status.toLowerCase()}`}>{order.status.toLowerCase()}</span>
      </div>
      <dl className="facts">
        <dt>Branch</dt>
        <dd>
          {order.branch.code} · {order.branch.name}
        </dd>
        <dt>Customer</dt>
        <dd>{order.customer?.name ?? 'Walk-in'}</dd>
        <dt>Sold</dt>
        <dd data-testid="sold-at">{dateTime(order.soldAt)}</dd>
        <dt>Received</dt>
        <dd>{dateTime(order.placedAt)}</dd>
        {order.paidAt && (
          <>
            <dt>Paid</dt>
            <dd>{dateTime(order.paidAt)}</dd>
          </>
        )}
        {order.cancelledAt && (
          <>
            <dt>Cancelled</dt>
            <dd>{dateTime(order.cancelledAt)}</dd>
          </>
        )}
      </dl>
      <PriceChangedNote lines={receiptOf(order).lines} />
      <h2>Lines</h2>
      <div className="table-wrap">
        <table className="data" data-testid="order-lines">
          <thead>
            <tr>
              <th scope="col">SKU</th>
              <th scope="col">Product</th>
              <th scope="col" className="num">
                Qty
              </th>
              <th scope="col" className="num">
                Unit price
              </th>
              <th scope="col" className="num">
                Line total
              </th>
            </tr>
          </thead>
          <tbody>
            {order.items.map((i) => (
              <tr key={i.id}>
                <td>{i.product.sku}</td>
                <td>{i.product.name}</td>
                <td className="num">{i.quantity}</td>
                <td className="num">
                  {money(i.unitPrice)}
                  {i.priceChanged && <small className="pending-tag"> (now {money(i.listUnitPrice)})</small>}
                </td>
                <td className="num">{money(i.lineTotal)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={4}>
                Total
              </th>
              <td className="num total">{money(order.total)}</td>
            </tr>
            <tr>
              <th scope="row" colSpan={4}>
                Paid
              </th>
              <td className="num">{money(order.amountPaid)}</td>
            </tr>
            {order.status !== 'CANCELLED' && due !== 0 && (
              <tr>
                <th scope="row" colSpan={4}>
                  {due > 0 ? 'Balance due' : 'Owed to the customer'}
                </th>
                <td className="num" data-testid="balance-due">
                  {money(Math.abs(due))}
                </td>
              </tr>
            )}
          </tfoot>
        </table>
      </div>
      <h2>Payments and refunds</h2>
      {order.payments.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="data compact" data-testid="order-payments">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Kind</th>
                <th scope="col">Method</th>
                <th scope="col" className="num">
                  Amount
                </th>
                <th scope="col" className="num">
                  Tendered
                </th>
                <th scope="col" className="num">
                  Change
                </th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {order.payments.map((p) => (
                <tr key={p.id}>
                  <td>{dateTime(p.createdAt)}</td>
                  <td>{p.kind === 'REFUND' ? 'Refund' : 'Payment'}</td>
                  <td>{METHOD[p.method] ?? p.method}</td>
                  <td className="num">{money(p.amount)}</td>
                  <td className="num">{p.tendered ? money(p.tendered) : ''}</td>
                  <td className="num">{p.change ? money(p.change) : ''}</td>
                  <td>{p.updatedBy ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <OutcomeMessage message={message} />
      <div className="buttons">
        <a href={`#/receipt/${order.id}`}>Receipt</a>
        {(order.status === 'PLACED' || order.status === 'PAID') && (
          <button type="button" onClick={() => void actOnOrder(order, 'cancel').then(setMessage)}>
            {order.status === 'PAID' ? 'Cancel and refund' : 'Cancel order'}
          </button>
        )}
      </div>
      {order.status === 'PLACED' && (
        <form
          className="pay"
          onSubmit={(e) => {
            e.preventDefault();
            void pay();
          }}
        >
          <TillPayment
            payment={payment}
            setPayment={setPayment}
            total={due}
            hasCustomer={Boolean(order.customer)}
            methods={['CASH', 'CARD', 'ACCOUNT']}
          />
          <button type="submit" className="primary">
            Pay {money(due)}
          </button>
        </form>
      )}
      <h2>History</h2>
      <ol className="history" data-testid="order-history">
        {entries.map((e) => (
          <li key={`${e.version}:${e.at}`}>
            <time dateTime={e.at}>{dateTime(e.at)}</time> · {describe(e)}
            {e.actor ? ` · ${e.actor}` : ''}
          </li>
        ))}
      </ol>
      <p>
        <a href={`#/history/ORDERS/${order.id}`}>Full history with values</a>
      </p>
    </section>
  );
}

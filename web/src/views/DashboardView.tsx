/**
 * Dashboard (managers and admins): per branch, sales today, order count, stock value and
 * low-stock count from the server's live `dashboard(branchId)` subscription, plus sales over the
 * last 14 days from the branch's recent orders in the cache (kept current by the change feed).
 * Until the subscription's first event (or offline), the figures are computed from the cache.
 */
import { useMemo } from 'react';
import { gql, useQuery, useSubscription } from 'urql';
import { money } from '../lib/format.ts';
import { useStore } from '../lib/store.ts';
import { useQueuedSales } from '../outbox/pending.ts';
import type { Session, SessionBranch } from '../session.ts';
import { reconnects } from '../transport.ts';
import { SalesChart } from './SalesChart.tsx';
import { type StockRow, StockView_Query } from './StockView.tsx';

export const DashboardView_OrdersQuery = gql`
  query DashboardView_OrdersQuery($branchId: ID!, $from: DateTime!) {
    orders(branchId: $branchId, from: $from, first: 200) {
      feedCursor
      pageInfo {
        hasNextPage
      }
      edges {
        node {
          id
          status
          total
          soldAt
          version
        }
      }
    }
  }
`;

export const DashboardView_Subscription = gql`
  subscription DashboardView_Subscription($branchId: ID!) {
    dashboard(branchId: $branchId) {
      branchId
      salesToday
      orderCount
      stockValue
      lowStockCount
      at
    }
  }
`;

interface Live {
  salesToday: string;
  orderCount: number;
  stockValue: string;
  lowStockCount: number;
}

interface OrderLite {
  id: string;
  status: string;
  total: string;
  /** When the sale was made (an offline sale counts on its own day, not when it arrived). */
  soldAt: string;
}

const DAY = 86_400_000;

function startOfDay(t: number) {
  const d = new Date(t);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

export function DashboardView({ s }: { s: Session }) {
  const from = useMemo(() => new Date(startOfDay(Date.now()) - 13 * DAY).toISOString(), []);
  // A new connection ends the old subscriptions: remount the cards to subscribe again.
  const connection = useStore(reconnects);
  return (
    <section aria-labelledby="dash-title">
      <h1 id="dash-title">Dashboard</h1>
      <div className="dash">
        {s.branches.map((b) => (
          <BranchCard key={`${b.id}:${connection}`} branch={b} from={from} />
        ))}
      </div>
    </section>
  );
}

function BranchCard({ branch, from }: { branch: SessionBranch; from: string }) {
  const [{ data: stockData }] = useQuery({ query: StockView_Query, variables: { branchId: branch.id } });
  const [{ data: orderData }] = useQuery({
    query: DashboardView_OrdersQuery,
    variables: { branchId: branch.id, from },
  });
  const [{ data: liveData }] = useSubscription({
    query: DashboardView_Subscription,
    variables: { branchId: branch.id },
  });
  const live = liveData?.dashboard as Live | undefined;
  const queued = useQueuedSales(branch.id);
  const queuedTotal = queued.reduce(
    (sum, q) => sum + q.items.reduce((t, l) => t + l.quantity * Number(l.shownUnitPrice ?? 0), 0),
    0,
  );

  const figures = useMemo(() => {
    const stock: StockRow[] = stockData?.stockLevels.edges.map((e: { node: StockRow }) => e.node) ?? [];
    const orders: OrderLite[] = orderData?.orders.edges.map((e: { node: OrderLite }) => e.node) ?? [];
    const today = startOfDay(Date.now());
    const days = Array.from({ length: 14 }, (_, i) => ({ day: today - (13 - i) * DAY, total: 0 }));
    let salesToday = 0;
    let ordersToday = 0;
    for (const o of orders) {
      if (o.status === 'CANCELLED' || o.status === 'DRAFT') continue;
      const at = new Date(o.soldAt).getTime();
      const idx = Math.floor((startOfDay(at) - days[0].day) / DAY + 0.5);
      if (idx >= 0 && idx < 14) days[idx].total += Number(o.total);
      if (at >= today) {
        salesToday += Number(o.total);
        ordersToday += 1;
      }
    }
    return {
      salesToday,
      ordersToday,
      stockValue: stock.reduce((sum, r) => sum + r.quantity * Number(r.product.unitPrice), 0),
      lowStock: stock.filter((r) => r.product.active && r.lowStock).length,
      days,
    };
  }, [stockData, orderData]);

  const salesToday = live ? Number(live.salesToday) : figures.salesToday;
  const ordersToday = live ? live.orderCount : figures.ordersToday;
  const stockValue = live ? Number(live.stockValue) : figures.stockValue;
  const lowStock = live ? live.lowStockCount : figures.lowStock;
  const max = Math.max(1, ...figures.days.map((d) => d.total));

  return (
    <article className="card" aria-labelledby={`dash-${branch.id}`} data-branch={branch.code}>
      <h2 id={`dash-${branch.id}`}>
        {branch.code} · {branch.name}
      </h2>
      <dl className="figures">
        <div>
          <dt>Sales today</dt>
          <dd data-testid="sales-today">{money(salesToday)}</dd>
        </div>
        <div>
          <dt>Orders today</dt>
          <dd data-testid="orders-today">{ordersToday}</dd>
        </div>
        <div>
          <dt>Stock value</dt>
          <dd>{money(stockValue)}</dd>
        </div>
        <div>
          <dt>Low stock</dt>
          <dd className={lowStock > 0 ? 'warn' : undefined}>{lowStock}</dd>
        </div>
      </dl>
      {queued.length > 0 && (
        <p className="pending-tag" data-testid="queued-sales">
          Plus {queued.length} sale{queued.length === 1 ? '' : 's'} on this device not yet sent (
          {money(queuedTotal)})
        </p>
      )}
      <figure>
        <SalesChart days={figures.days} label={`Sales over the last 14 days at ${branch.name}`} />
        <figcaption className="muted">
          Sales, last 14 days (peak {money(max)})
          {orderData?.orders.pageInfo.hasNextPage ? ' — from the newest 200 orders only' : ''}
        </figcaption>
      </figure>
    </article>
  );
}

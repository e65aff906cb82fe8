/** Live dashboard figures of one branch: sales and orders today, stock value, low-stock count. */
import type pg from 'pg';

export interface DashboardFigures {
  branchId: string;
  /** Sum of the placed and paid orders sold today (by soldAt, the time of sale; decimal string). */
  salesToday: string;
  orderCount: number;
  /** Sum of quantity x unit price over the branch's stock (decimal string). */
  stockValue: string;
  /** Active products at or below their reorder level. */
  lowStockCount: number;
  at: Date;
}

export async function computeDashboard(pool: pg.Pool, branchId: string): Promise<DashboardFigures> {
  const { rows } = await pool.query<{ sales: string; orders: number; stock: string; low: number }>(
    `SELECT o.sales, o.orders, s.stock, s.low
       FROM (SELECT coalesce(sum(total), 0)::text AS sales, count(*)::int AS orders
               FROM orders
              WHERE branch_id = $1 AND status IN ('PLACED', 'PAID')
                AND sold_at >= date_trunc('day', now())) o,
            (SELECT coalesce(sum(sl.quantity * p.unit_price), 0)::text AS stock,
                    (count(*) FILTER (WHERE p.active AND sl.quantity <= sl.reorder_level))::int AS low
               FROM stock_levels sl JOIN products p ON p.id = sl.product_id
              WHERE sl.branch_id = $1) s`,
    [branchId],
  );
  const r = rows[0] as { sales: string; orders: number; stock: string; low: number };
  return {
    branchId,
    salesToday: r.sales,
    orderCount: r.orders,
    stockValue: r.stock,
    lowStockCount: r.low,
    at: new Date(),
  };
}

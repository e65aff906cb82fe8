/**
 * Stock of the current branch: live, searchable, sortable; low stock highlighted; a row flashes
 * when the feed changes it. Receive, adjust, count, transfer and set the reorder level from here.
 * Quantities include this device's queued sales and receipts (marked as not yet sent); the list
 * as filtered and sorted can be exported as CSV.
 */
import { useEffect, useMemo, useState } from 'react';
import { gql, useQuery } from 'urql';
import { csvName, downloadCsv } from '../lib/csv.ts';
import { money } from '../lib/format.ts';
import { useStore } from '../lib/store.ts';
import { useQueuedStock } from '../outbox/pending.ts';
import { canManage, type Session } from '../session.ts';
import { recentlyChanged } from '../status.ts';
import { MovementDialog } from './MovementDialog.tsx';

export const StockView_Query = gql`
  query StockView_Query($branchId: ID!) {
    stockLevels(branchId: $branchId, first: 200) {
      feedCursor
      edges {
        node {
          id
          branchId
          productId
          quantity
          reorderLevel
          lowStock
          version
          updatedAt
          product {
            id
            sku
            barcode
            name
            unitPrice
            active
            version
          }
        }
      }
    }
  }
`;

/** Stock on its way to the branch: approved transfers not yet received (Transfers view). */
export const StockView_InTransit = gql`
  query StockView_InTransit($branchId: ID!) {
    stockRequests(branchId: $branchId, status: IN_TRANSIT, first: 200) {
      feedCursor
      edges {
        node {
          id
          branchId
          productId
          inTransit
          status
          version
        }
      }
    }
  }
`;

export interface StockRow {
  id: string;
  branchId: string;
  productId: string;
  quantity: number;
  reorderLevel: number;
  lowStock: boolean;
  version: number;
  product: {
    id: string;
    sku: string;
    barcode?: string | null;
    name: string;
    unitPrice: string;
    active: boolean;
  };
}

type SortKey = 'sku' | 'name' | 'quantity' | 'reorderLevel' | 'value';

const COLUMNS: { key: SortKey; label: string; numeric?: boolean }[] = [
  { key: 'sku', label: 'SKU' },
  { key: 'name', label: 'Product' },
  { key: 'quantity', label: 'Quantity', numeric: true },
  { key: 'reorderLevel', label: 'Reorder level', numeric: true },
  { key: 'value', label: 'Value', numeric: true },
];

function sortValue(r: StockRow, key: SortKey): string | number {
  switch (key) {
    case 'sku':
      return r.product.sku;
    case 'name':
      return r.product.name.toLowerCase();
    case 'value':
      return r.quantity * Number(r.product.unitPrice);
    default:
      return r[key];
  }
}

/** A row as this device will have it once its queued changes are sent. */
type QueuedRow = StockRow & { queued: number };

function withQueued(r: StockRow, queued: number): QueuedRow {
  if (queued === 0) return { ...r, queued };
  const quantity = r.quantity + queued;
  return { ...r, quantity, lowStock: quantity <= r.reorderLevel, queued };
}

export function StockView({ s }: { s: Session }) {
  const [{ data, fetching, error, stale }] = useQuery({
    query: StockView_Query,
    variables: { branchId: s.branchId },
  });
  const [search, setSearch] = useState('');
  const [lowOnly, setLowOnly] = useState(false);
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'name', dir: 1 });
  const [movingId, setMovingId] = useState<string | null>(null);
  const recent = useStore(recentlyChanged);
  const queued = useQueuedStock(s.branchId);
  const [{ data: transitData }] = useQuery({
    query: StockView_InTransit,
    variables: { branchId: s.branchId },
  });
  const incoming = useMemo(() => {
    const by = new Map<string, number>();
    for (const e of transitData?.stockRequests.edges ?? []) {
      const n = e.node as { branchId: string; productId: string; inTransit: number };
      if (n.branchId === s.branchId && n.inTransit > 0)
        by.set(n.productId, (by.get(n.productId) ?? 0) + n.inTransit);
    }
    return by;
  }, [transitData, s.branchId]);
  const [, tick] = useState(0);

  useEffect(() => {
    if (recent.size === 0) return;
    const t = setTimeout(() => tick((n) => n + 1), 1600);
    return () => clearTimeout(t);
  }, [recent]);

  const all: QueuedRow[] = useMemo(
    () =>
      (data?.stockLevels.edges.map((e: { node: StockRow }) => e.node) ?? []).map((r: StockRow) =>
        withQueued(r, queued.get(r.productId) ?? 0),
      ),
    [data, queued],
  );
  // The dialog follows the live row (quantity and version change while it is open).
  const moving = all.find((r) => r.id === movingId);

  const rows = useMemo(() => {
    const q = search.trim().toLowerCase();
    return all
      .filter((r) => r.product.active)
      .filter(
        (r) => !q || r.product.name.toLowerCase().includes(q) || r.product.sku.toLowerCase().includes(q),
      )
      .filter((r) => !lowOnly || r.lowStock)
      .sort((a, b) => {
        const x = sortValue(a, sort.key);
        const y = sortValue(b, sort.key);
        return (x < y ? -1 : x > y ? 1 : 0) * sort.dir || a.product.sku.localeCompare(b.product.sku);
      });
  }, [all, search, lowOnly, sort]);

  const lowCount = rows.filter((r) => r.lowStock).length;
  const now = Date.now();

  function exportCsv() {
    downloadCsv(
      csvName('stock', s.branches.find((b) => b.id === s.branchId)?.code),
      ['SKU', 'Product', 'Quantity', 'Not yet sent', 'Reorder level', 'Low', 'Unit price', 'Value'],
      rows.map((r) => [
        r.product.sku,
        r.product.name,
        r.quantity,
        r.queued,
        r.reorderLevel,
        r.lowStock ? 'yes' : 'no',
        Number(r.product.unitPrice).toFixed(2),
        (r.quantity * Number(r.product.unitPrice)).toFixed(2),
      ]),
    );
  }

  return (
    <section aria-labelledby="stock-title">
      <div className="view-head">
        <h1 id="stock-title">Stock</h1>
        <div className="filters">
          <label>
            Search
            <input
              type="search"
              placeholder="Name or SKU"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
          </label>
          <label className="check">
            <input type="checkbox" checked={lowOnly} onChange={(e) => setLowOnly(e.target.checked)} /> Low
            stock only
          </label>
          <span className="muted" aria-live="polite">
            {rows.length} products · {lowCount} low {fetching || stale ? '· updating…' : ''}
          </span>
          <button type="button" onClick={exportCsv} disabled={rows.length === 0}>
            Export CSV
          </button>
        </div>
      </div>
      {error && !data && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      <div className="table-wrap">
        <table className="data stock">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  key={c.key}
                  scope="col"
                  className={c.numeric ? 'num' : undefined}
                  aria-sort={sort.key === c.key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}
                >
                  <button
                    type="button"
                    className="sort"
                    onClick={() =>
                      setSort((p) => ({ key: c.key, dir: p.key === c.key ? (-p.dir as 1 | -1) : 1 }))
                    }
                  >
                    {c.label}
                    <span aria-hidden="true">{sort.key === c.key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}</span>
                  </button>
                </th>
              ))}
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const changedAt = recent.get(r.id);
              const flashing = changedAt !== undefined && now - changedAt < 1500;
              return (
                <tr
                  key={r.id}
                  // Alternating animation names restart the flash on every new version without
                  // remounting the row (which would lose keyboard focus inside it).
                  className={`${r.lowStock ? 'low' : ''} ${flashing ? `flash flash-${r.version % 2}` : ''}`}
                  data-sku={r.product.sku}
                  data-testid="stock-row"
                >
                  <td>{r.product.sku}</td>
                  <td>{r.product.name}</td>
                  <td className="num qty">
                    {r.quantity}
                    {r.queued !== 0 && (
                      <span className="pending-tag" data-testid="queued-stock">
                        {' '}
                        ({r.queued > 0 ? '+' : ''}
                        {r.queued} not yet sent)
                      </span>
                    )}
                    {(incoming.get(r.productId) ?? 0) > 0 && (
                      <span className="muted" data-testid="in-transit">
                        {' '}
                        (+{incoming.get(r.productId)} in transit)
                      </span>
                    )}
                    {r.lowStock && <span className="badge">Low</span>}
                  </td>
                  <td className="num">{r.reorderLevel}</td>
                  <td className="num">{money(r.quantity * Number(r.product.unitPrice))}</td>
                  <td className="actions">
                    <button
                      type="button"
                      onClick={() => setMovingId(r.id)}
                      aria-label={`Stock actions for ${r.product.name}`}
                    >
                      Move…
                    </button>
                    <a
                      href={`#/history/STOCK_LEVELS/${r.id}`}
                      aria-label={`History of ${r.product.name} stock`}
                    >
                      History
                    </a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {moving && (
        <MovementDialog row={moving} s={s} manager={canManage(s)} onClose={() => setMovingId(null)} />
      )}
    </section>
  );
}

/** The till's order lines: item, price, quantity (editable), line total, remove; the total. */
import type { Dispatch, SetStateAction } from 'react';
import { money } from '../lib/format.ts';
import type { StockRow } from './StockView.tsx';

export interface Line {
  productId: string;
  quantity: number;
}

export function TillCart(props: {
  lines: Line[];
  byProduct: Map<string, StockRow>;
  /** Products the server refused, with how many are available. */
  short: Record<string, number>;
  total: number;
  setLines: Dispatch<SetStateAction<Line[]>>;
}) {
  const { lines, byProduct, short, total, setLines } = props;
  return (
    <div className="scroll-x">
      <table className="data">
        <caption className="sr-only">Order lines</caption>
        <thead>
          <tr>
            <th scope="col">Item</th>
            <th scope="col" className="num">
              Price
            </th>
            <th scope="col" className="num">
              Qty
            </th>
            <th scope="col" className="num">
              Line total
            </th>
            <th scope="col">
              <span className="sr-only">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {lines.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No items yet: search or scan a SKU.
              </td>
            </tr>
          )}
          {lines.map((l) => {
            const r = byProduct.get(l.productId);
            const available = short[l.productId];
            return (
              <tr
                key={l.productId}
                className={available !== undefined ? 'short' : undefined}
                data-testid="till-line"
              >
                <td>
                  {r?.product.name ?? l.productId}
                  {available !== undefined && (
                    <span className="error" role="alert">
                      {' '}
                      Only {available} available
                    </span>
                  )}
                </td>
                <td className="num">{money(r?.product.unitPrice)}</td>
                <td className="num">
                  <input
                    type="number"
                    min={1}
                    className="qty-input"
                    aria-label={`Quantity of ${r?.product.name ?? 'item'}`}
                    value={l.quantity}
                    onChange={(e) => {
                      const n = Math.max(1, Number.parseInt(e.target.value, 10) || 1);
                      setLines((prev) => prev.map((x) => (x === l ? { ...x, quantity: n } : x)));
                    }}
                  />
                </td>
                <td className="num">{money(l.quantity * Number(r?.product.unitPrice ?? 0))}</td>
                <td>
                  <button
                    type="button"
                    className="link"
                    aria-label={`Remove ${r?.product.name ?? 'item'}`}
                    onClick={() => setLines((prev) => prev.filter((x) => x !== l))}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={3}>
              Total
            </th>
            <td className="num total" data-testid="till-total">
              {money(total)}
            </td>
            <td />
          </tr>
        </tfoot>
      </table>
    </div>
  );
}

/** How the customer pays at the till: cash (tendered, change due), card, on account, or later. */
import { money } from '../lib/format.ts';

export type PayMethod = 'CASH' | 'CARD' | 'ACCOUNT' | 'LATER';

export interface Payment {
  method: PayMethod;
  /** Cash handed over, as typed ("" = the exact amount). */
  tendered: string;
}

const LABELS: Record<PayMethod, string> = {
  CASH: 'Cash',
  CARD: 'Card',
  ACCOUNT: 'On account',
  LATER: 'Pay later',
};

/** Why this payment cannot be taken for `total`, or null. */
export function paymentProblem(p: Payment, total: number, hasCustomer: boolean): string | null {
  if (p.method === 'ACCOUNT' && !hasCustomer) return 'Choose the customer whose account to charge.';
  if (p.method !== 'CASH' || p.tendered.trim() === '') return null;
  const tendered = Number(p.tendered);
  if (!/^\d{1,10}(\.\d{1,2})?$/.test(p.tendered.trim()) || !Number.isFinite(tendered))
    return 'Enter the cash tendered as an amount, e.g. 20.00.';
  if (tendered + 1e-9 < total)
    return `Cash tendered ${money(tendered)} is less than the total ${money(total)}.`;
  return null;
}

/** The `payment` of placeOrder (null: pay later). */
export function paymentInput(p: Payment): { method: string; tendered: string | null } | null {
  if (p.method === 'LATER') return null;
  return { method: p.method, tendered: p.method === 'CASH' && p.tendered.trim() ? p.tendered.trim() : null };
}

export function TillPayment(props: {
  payment: Payment;
  setPayment: (p: Payment) => void;
  total: number;
  hasCustomer: boolean;
  methods?: PayMethod[];
}) {
  const { payment, setPayment, total, hasCustomer, methods = Object.keys(LABELS) as PayMethod[] } = props;
  const tendered = Number(payment.tendered);
  const change = payment.tendered.trim() && Number.isFinite(tendered) ? tendered - total : 0;
  const problem = paymentProblem(payment, total, hasCustomer);
  return (
    <fieldset className="payment">
      <legend>Payment</legend>
      <div className="methods">
        {methods.map((m) => (
          <label key={m} className="check">
            <input
              type="radio"
              name="pay-method"
              value={m}
              checked={payment.method === m}
              onChange={() => setPayment({ ...payment, method: m })}
            />{' '}
            {LABELS[m]}
          </label>
        ))}
      </div>
      {payment.method === 'CASH' && (
        <div className="cash">
          <label>
            Cash tendered
            <input
              type="text"
              inputMode="decimal"
              value={payment.tendered}
              placeholder={total.toFixed(2)}
              onChange={(e) => setPayment({ ...payment, tendered: e.target.value })}
            />
          </label>
          <p aria-live="polite">
            Change due: <strong data-testid="change-due">{money(Math.max(0, change))}</strong>
          </p>
        </div>
      )}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
    </fieldset>
  );
}

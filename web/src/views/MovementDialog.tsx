/** Receive, adjust, count, transfer or set the reorder level of one stock row (queued like every change). */
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { outcomeText } from '../operations.ts';
import { enqueue, type Outcome } from '../outbox/queue.ts';
import type { Session } from '../session.ts';
import type { StockRow } from './StockView.tsx';
import {
  StockView_Adjust,
  StockView_Count,
  StockView_Receive,
  StockView_ReorderLevel,
  StockView_Transfer,
} from './stockMutations.ts';

type Kind = 'receive' | 'adjust' | 'count' | 'transfer' | 'reorder';

export function MovementDialog(props: { row: StockRow; s: Session; manager: boolean; onClose: () => void }) {
  const { row, s, manager, onClose } = props;
  const ref = useRef<HTMLDialogElement>(null);
  const [kind, setKind] = useState<Kind>('receive');
  const [amount, setAmount] = useState('');
  const [note, setNote] = useState('');
  const [to, setTo] = useState(s.branches.find((b) => b.id !== s.branchId)?.id ?? '');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    ref.current?.showModal();
  }, []);

  const kinds: { kind: Kind; label: string }[] = [
    { kind: 'receive', label: 'Receive' },
    { kind: 'count', label: 'Count' },
    ...(manager
      ? [
          { kind: 'adjust' as const, label: 'Adjust' },
          { kind: 'reorder' as const, label: 'Reorder level' },
          ...(s.branches.length > 1 ? [{ kind: 'transfer' as const, label: 'Transfer' }] : []),
        ]
      : []),
  ];

  async function submit(e: FormEvent) {
    e.preventDefault();
    const n = Number.parseInt(amount, 10);
    if (!Number.isFinite(n)) {
      setResult({ ok: false, text: 'Enter a whole number.' });
      return;
    }
    setBusy(true);
    const base = { branchId: row.branchId, productId: row.productId };
    const record = `StockLevel:${row.id}`;
    const name = row.product.name;
    let outcome: Outcome;
    let done: string;
    if (kind === 'receive') {
      outcome = await enqueue(
        StockView_Receive,
        { ...base, quantity: n, note: note || null },
        { label: `Receive ${n} × ${name}`, record },
      );
      done = `Received ${n}.`;
    } else if (kind === 'adjust') {
      outcome = await enqueue(
        StockView_Adjust,
        { ...base, delta: n, reason: note || 'Adjustment' },
        { label: `Adjust ${name} by ${n}`, record },
      );
      done = `Adjusted by ${n}.`;
    } else if (kind === 'count') {
      outcome = await enqueue(
        StockView_Count,
        { ...base, counted: n, expectedVersion: row.version },
        { label: `Count ${name}: ${n}`, record },
      );
      done = `Counted ${n}.`;
    } else if (kind === 'transfer') {
      outcome = await enqueue(
        StockView_Transfer,
        {
          fromBranchId: row.branchId,
          toBranchId: to,
          productId: row.productId,
          quantity: n,
          note: note || null,
        },
        { label: `Transfer ${n} × ${name}`, record },
      );
      done = `Transferred ${n}.`;
    } else {
      outcome = await enqueue(
        StockView_ReorderLevel,
        { ...base, reorderLevel: n, expectedVersion: row.version },
        { label: `Reorder level of ${name}: ${n}`, record, base: { reorderLevel: row.reorderLevel } },
      );
      done = `Reorder level set to ${n}.`;
    }
    setBusy(false);
    const text = outcomeText(outcome, done);
    setResult(text);
    if (text.ok) setAmount('');
  }

  const amountLabel =
    kind === 'adjust'
      ? 'Change (+/−)'
      : kind === 'count'
        ? 'Counted quantity'
        : kind === 'reorder'
          ? 'Reorder level'
          : 'Quantity';

  return (
    <dialog ref={ref} className="movement" aria-labelledby="move-title" onClose={onClose}>
      <form onSubmit={submit}>
        <h2 id="move-title">{row.product.name}</h2>
        <p className="muted">
          {row.product.sku} · in stock: <strong>{row.quantity}</strong> · reorder level {row.reorderLevel}
        </p>
        <fieldset className="tabs">
          <legend className="sr-only">Action</legend>
          {kinds.map((k) => (
            <label key={k.kind} className={kind === k.kind ? 'on' : undefined}>
              <input
                type="radio"
                name="kind"
                value={k.kind}
                checked={kind === k.kind}
                onChange={() => {
                  setKind(k.kind);
                  setResult(null);
                }}
              />
              {k.label}
            </label>
          ))}
        </fieldset>
        <label>
          {amountLabel}
          <input
            type="number"
            inputMode="numeric"
            required
            min={kind === 'adjust' ? undefined : kind === 'receive' || kind === 'transfer' ? 1 : 0}
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
          />
        </label>
        {kind === 'transfer' && (
          <label>
            To branch
            <select value={to} onChange={(e) => setTo(e.target.value)}>
              {s.branches
                .filter((b) => b.id !== s.branchId)
                .map((b) => (
                  <option key={b.id} value={b.id}>
                    {b.code} · {b.name}
                  </option>
                ))}
            </select>
          </label>
        )}
        {(kind === 'receive' || kind === 'adjust' || kind === 'transfer') && (
          <label>
            {kind === 'adjust' ? 'Reason' : 'Note'}
            <input
              type="text"
              maxLength={500}
              required={kind === 'adjust'}
              value={note}
              onChange={(e) => setNote(e.target.value)}
            />
          </label>
        )}
        {result && (
          <p className={result.ok ? 'ok' : 'error'} role={result.ok ? 'status' : 'alert'}>
            {result.text}
          </p>
        )}
        <div className="buttons">
          <button type="button" onClick={() => ref.current?.close()}>
            Close
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </dialog>
  );
}

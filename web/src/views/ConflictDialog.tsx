/**
 * Shown when a queued edit and someone else's change touched the same field: per field, my value,
 * theirs and the value both started from; keep mine, keep theirs, or pick per field.
 */
import { useEffect, useRef, useState } from 'react';
import { show } from '../lib/format.ts';
import { useStore } from '../lib/store.ts';
import type { Choice } from '../outbox/merge.ts';
import { outboxItems, resolveItem } from '../outbox/queue.ts';

const LABELS: Record<string, string> = {
  unitPrice: 'Unit price',
  sku: 'SKU',
  name: 'Name',
  description: 'Description',
  phone: 'Phone',
  email: 'Email',
  notes: 'Notes',
  reorderLevel: 'Reorder level',
};

export function ConflictDialog() {
  const items = useStore(outboxItems);
  const item = items.find((i) => i.state === 'conflict' && i.conflict);
  const ref = useRef<HTMLDialogElement>(null);
  const [choices, setChoices] = useState<Record<string, Choice>>({});
  const seq = item?.seq;

  useEffect(() => {
    setChoices({});
    const d = ref.current;
    if (!d) return;
    if (seq !== undefined && !d.open) d.showModal();
    if (seq === undefined && d.open) d.close();
  }, [seq]);

  const conflicts = item?.conflict?.conflicts ?? [];
  const decide = (all?: Choice) => {
    if (seq === undefined) return;
    const picked = Object.fromEntries(conflicts.map((c) => [c.field, all ?? choices[c.field] ?? 'mine']));
    void resolveItem(seq, picked);
  };

  return (
    <dialog
      ref={ref}
      className="conflict"
      aria-labelledby="conflict-title"
      onCancel={(e) => e.preventDefault()}
    >
      {item && (
        <form method="dialog" onSubmit={(e) => e.preventDefault()}>
          <h2 id="conflict-title">Someone else changed this too</h2>
          <p>
            Your edit of <strong>{item.label}</strong> and another change saved meanwhile touch the same field
            {conflicts.length === 1 ? '' : 's'}. Choose what to keep.
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Before</th>
                <th scope="col">Mine</th>
                <th scope="col">Theirs</th>
              </tr>
            </thead>
            <tbody>
              {conflicts.map((c) => (
                <tr key={c.field} data-field={c.field}>
                  <th scope="row">{LABELS[c.field] ?? c.field}</th>
                  <td className="base">{show(c.base)}</td>
                  <td>
                    <label>
                      <input
                        type="radio"
                        name={`pick-${c.field}`}
                        value="mine"
                        checked={(choices[c.field] ?? 'mine') === 'mine'}
                        onChange={() => setChoices((p) => ({ ...p, [c.field]: 'mine' }))}
                      />{' '}
                      <span className="mine">{show(c.mine)}</span>
                    </label>
                  </td>
                  <td>
                    <label>
                      <input
                        type="radio"
                        name={`pick-${c.field}`}
                        value="theirs"
                        checked={choices[c.field] === 'theirs'}
                        onChange={() => setChoices((p) => ({ ...p, [c.field]: 'theirs' }))}
                      />{' '}
                      <span className="theirs">{show(c.theirs)}</span>
                    </label>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="buttons">
            <button type="button" onClick={() => decide('mine')}>
              Keep mine
            </button>
            <button type="button" onClick={() => decide('theirs')}>
              Keep theirs
            </button>
            <button type="button" className="primary" onClick={() => decide()}>
              Save my picks
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}

/**
 * Sales queued on this device whose price changed before they reached the server: said out loud
 * once they are sent (never silently), with a link to the order's prices, until dismissed.
 */
import { useState } from 'react';
import { useStore } from '../lib/store.ts';
import { delivered } from '../outbox/queue.ts';

export function SentNotices() {
  const sent = useStore(delivered);
  const [dismissed, setDismissed] = useState<ReadonlySet<number>>(new Set());
  const changed = sent.filter(
    (d) => d.name === 'placeOrder' && d.data.priceChanged === true && !dismissed.has(d.seq),
  );
  if (changed.length === 0) return null;
  return (
    <section className="notices" aria-label="Sent while you were offline">
      <ul>
        {changed.map((d) => (
          <li key={d.seq} role="alert" data-testid="price-changed-notice">
            Order <a href={`#/orders/${String(d.data.id)}`}>{String(d.data.number)}</a> was sent: a price
            changed while this till was offline ({d.label}).{' '}
            <button type="button" onClick={() => setDismissed((s) => new Set([...s, d.seq]))}>
              Dismiss
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * Queued changes that could not be applied (e.g. an order whose stock is gone) are shown here, not
 * dropped: the user sees why, and can retry or discard each one. Waiting edits are listed too.
 */
import { useStore } from '../lib/store.ts';
import { describeError } from '../operations.ts';
import { discardItem, outboxItems, retryItem } from '../outbox/queue.ts';

export function OutboxPanel() {
  const items = useStore(outboxItems);
  const failed = items.filter((i) => i.state === 'failed');
  const waiting = items.filter((i) => i.state === 'pending');
  if (failed.length === 0 && waiting.length === 0) return null;
  return (
    <section id="outbox" className="outbox" aria-labelledby="outbox-title">
      <h2 id="outbox-title">Outbox</h2>
      {failed.length > 0 && (
        <ul className="failed" aria-label="Changes that could not be applied">
          {failed.map((i) => (
            <li key={i.seq} data-testid="outbox-failed">
              <strong>{i.label}</strong> could not be applied:{' '}
              {i.error ? describeError(i.error) : 'unknown error'}
              <span className="actions">
                <button type="button" onClick={() => void retryItem(i.seq as number)}>
                  Retry
                </button>
                <button type="button" onClick={() => void discardItem(i.seq as number)}>
                  Discard
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
      {waiting.length > 0 && (
        <details>
          <summary>{waiting.length} waiting to be sent</summary>
          <ol>
            {waiting.map((i) => (
              <li key={i.seq}>{i.label}</li>
            ))}
          </ol>
        </details>
      )}
    </section>
  );
}

/** The status bar on every screen: connection, edits waiting to be sent, last change received. */
import { time } from '../lib/format.ts';
import { useStore } from '../lib/store.ts';
import { status } from '../status.ts';

const LABEL = { connected: 'Connected', reconnecting: 'Reconnecting…', offline: 'Offline' } as const;

export function StatusBar() {
  const st = useStore(status);
  return (
    <footer className="statusbar">
      <h2 className="sr-only">Sync status</h2>
      <span className={`conn conn-${st.connection}`} role="status" data-testid="connection">
        <span className="dot" aria-hidden="true" />
        {LABEL[st.connection]}
        {st.connection === 'connected' && st.transport === 'sse' ? ' (SSE)' : ''}
      </span>
      <span data-testid="pending" aria-live="polite">
        {st.pending > 0
          ? `${st.pending} edit${st.pending === 1 ? '' : 's'} waiting to be sent`
          : st.attention > 0
            ? 'Nothing waiting to be sent'
            : 'All changes sent'}
      </span>
      {st.attention > 0 && (
        <a href="#outbox" className="attention" data-testid="attention">
          {st.attention} need{st.attention === 1 ? 's' : ''} attention
        </a>
      )}
      <span data-testid="last-change">Last change: {st.lastChangeAt ? time(st.lastChangeAt) : '—'}</span>
    </footer>
  );
}

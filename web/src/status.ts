/**
 * Sync status shown in the status bar: the connection (connected / reconnecting / offline), the
 * number of queued edits, and the time of the last change received from the feed.
 */
import { createStore } from './lib/store.ts';

export type Connection = 'connected' | 'reconnecting' | 'offline';

export interface SyncStatus {
  connection: Connection;
  transport: 'websocket' | 'sse';
  pending: number;
  attention: number;
  lastChangeAt: number | null;
}

export const status = createStore<SyncStatus>({
  connection: typeof navigator !== 'undefined' && navigator.onLine === false ? 'offline' : 'reconnecting',
  transport: 'websocket',
  pending: 0,
  attention: 0,
  lastChangeAt: null,
});

export function patchStatus(patch: Partial<SyncStatus>) {
  status.set((s) => {
    for (const [k, v] of Object.entries(patch)) {
      if (s[k as keyof SyncStatus] !== v) return { ...s, ...patch };
    }
    return s;
  });
}

/** Ids of rows changed by the feed in the last moments, so their table rows can flash. */
export const recentlyChanged = createStore<ReadonlyMap<string, number>>(new Map());

export function markChanged(id: string) {
  const now = Date.now();
  recentlyChanged.set((prev) => {
    const next = new Map([...prev].filter(([, t]) => now - t < 3000));
    next.set(id, now);
    return next;
  });
}

/**
 * Sync status (admins): the figures of /metrics in words, from the `syncStatus` query, refreshed
 * every 5 seconds: whether live updates flow, how far behind they are, the last change, conflicts
 * today, connected screens per branch and the last backup.
 */
import { useEffect } from 'react';
import { gql, useQuery } from 'urql';
import { dateTime } from '../lib/format.ts';
import { age } from './BackupView.tsx';

export const SyncStatusView_Query = gql`
  query SyncStatusView_Query {
    syncStatus {
      checkedAt feedConnected feedDetail lagChanges lagSeconds lastChangeAt heldBackRows
      oldestTransactionSeconds conflictsToday subscriptions screens adminScreens
      branches { code name screens }
      lastBackupAt lastBackupOk lastSuccessfulBackupAt
    }
  }
`;

interface Status {
  checkedAt: string;
  feedConnected: boolean;
  feedDetail: string;
  lagChanges: number | null;
  lagSeconds: number | null;
  lastChangeAt: string | null;
  heldBackRows: number | null;
  oldestTransactionSeconds: number | null;
  conflictsToday: number;
  subscriptions: number;
  screens: number;
  adminScreens: number;
  branches: { code: string; name: string; screens: number }[];
  lastBackupAt: string | null;
  lastBackupOk: boolean | null;
  lastSuccessfulBackupAt: string | null;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function since(at: string | null, now: number): string {
  if (!at) return 'none yet';
  const s = Math.max(0, Math.round((now - new Date(at).getTime()) / 1000));
  if (s < 60) return `${plural(s, 'second')} ago`;
  if (s < 3600) return `${plural(Math.floor(s / 60), 'minute')} ago`;
  return age(at, now);
}

function lagInWords(st: Status): string {
  if (st.lagChanges === null) return 'unknown (the database did not answer)';
  if (st.lagChanges === 0) return 'none: every committed change has been sent';
  return `${plural(st.lagChanges, 'change')} waiting, the oldest ${(st.lagSeconds ?? 0).toFixed(1)} s old`;
}

export function SyncStatusView() {
  const [{ data, error, fetching }, refetch] = useQuery<{ syncStatus: Status | null }>({
    query: SyncStatusView_Query,
    requestPolicy: 'network-only',
  });
  useEffect(() => {
    const timer = setInterval(() => refetch({ requestPolicy: 'network-only' }), 5000);
    return () => clearInterval(timer);
  }, [refetch]);
  const st = data?.syncStatus;
  const now = st ? new Date(st.checkedAt).getTime() : Date.now();
  return (
    <section aria-labelledby="sync-title">
      <div className="view-head">
        <h1 id="sync-title">Sync status</h1>
      </div>
      {error && !data && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      {fetching && !data && <p className="muted">Loading…</p>}
      {st && (
        <dl className="backup-last" aria-label="Sync status">
          <dt>Live updates</dt>
          <dd className={st.feedConnected ? 'ok' : 'error'} title={st.feedDetail}>
            {st.feedConnected ? 'flowing' : `interrupted (${st.feedDetail})`}
          </dd>
          <dt>Feed lag</dt>
          <dd>{lagInWords(st)}</dd>
          <dt>Last change</dt>
          <dd>
            {st.lastChangeAt ? `${dateTime(st.lastChangeAt)} (${since(st.lastChangeAt, now)})` : 'none yet'}
          </dd>
          <dt>Held back</dt>
          <dd>
            {st.heldBackRows
              ? `${plural(st.heldBackRows, 'change')} wait behind a transaction open for ${(st.oldestTransactionSeconds ?? 0).toFixed(1)} s`
              : 'nothing'}
          </dd>
          <dt>Conflicts today</dt>
          <dd>{st.conflictsToday === 0 ? 'none' : plural(st.conflictsToday, 'edit')}</dd>
          <dt>Connected screens</dt>
          <dd>
            {plural(st.screens, 'screen')} ({plural(st.adminScreens, 'admin')}),{' '}
            {plural(st.subscriptions, 'live subscription')}
          </dd>
          <dt>Last backup</dt>
          <dd className={st.lastBackupOk === false ? 'error' : undefined}>
            {st.lastBackupAt
              ? `${dateTime(st.lastBackupAt)} (${age(st.lastBackupAt, now)}), ${st.lastBackupOk ? 'good' : 'failed'}`
              : 'none recorded'}
            {st.lastBackupOk === false && st.lastSuccessfulBackupAt
              ? `; last good one ${age(st.lastSuccessfulBackupAt, now)}`
              : ''}{' '}
            <a href="#/backups">Backups</a>
          </dd>
        </dl>
      )}
      {st && (
        <div className="table-wrap">
          <table className="data compact">
            <caption>Screens with live updates, by branch (this server process)</caption>
            <thead>
              <tr>
                <th scope="col">Branch</th>
                <th scope="col">Screens</th>
              </tr>
            </thead>
            <tbody>
              {st.branches.map((b) => (
                <tr key={b.code}>
                  <td>
                    {b.code} {b.name}
                  </td>
                  <td>{b.screens}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && !st && <p>Only admins see the sync status.</p>}
    </section>
  );
}

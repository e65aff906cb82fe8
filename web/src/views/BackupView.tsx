/**
 * Backups (admins): the last backup's time, size and result, a warning when the last good one is
 * older than 2 days (or there is none), and the recent runs. `BackupWarning` shows the same
 * warning at the top of every view for admins, so it is seen without opening this page.
 */
import { useEffect } from 'react';
import { gql, useQuery } from 'urql';
import { dateTime, show } from '../lib/format.ts';

export const BackupView_Query = gql`
  query BackupView_Query {
    backupStatus(limit: 14) {
      stale
      lastRun { kind file startedAt finishedAt ok sizeBytes tables rows schemaVersion error }
      lastSuccess { kind file finishedAt sizeBytes }
      recent { kind file startedAt finishedAt ok sizeBytes rows error }
    }
  }
`;

interface Run {
  kind: string;
  file: string;
  startedAt?: string;
  finishedAt: string;
  ok?: boolean;
  sizeBytes: number | null;
  tables?: number | null;
  rows?: number | null;
  schemaVersion?: string | null;
  error?: string | null;
}
interface Status {
  stale: boolean;
  lastRun: Run | null;
  lastSuccess: Run | null;
  recent: Run[];
}

export function size(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function age(at: string | null | undefined, now = Date.now()): string {
  if (!at) return 'never';
  const hours = (now - new Date(at).getTime()) / 3_600_000;
  if (hours < 1) return 'less than an hour ago';
  if (hours < 48) return `${Math.floor(hours)} hour${Math.floor(hours) === 1 ? '' : 's'} ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

function useBackupStatus(pollMs?: number) {
  const [result, refetch] = useQuery<{ backupStatus: Status | null }>({
    query: BackupView_Query,
    requestPolicy: 'network-only',
  });
  useEffect(() => {
    if (!pollMs) return;
    const timer = setInterval(() => refetch({ requestPolicy: 'network-only' }), pollMs);
    return () => clearInterval(timer);
  }, [pollMs, refetch]);
  return result;
}

function Warning({ status }: { status: Status }) {
  return (
    <p className="backup-warning" role="alert">
      {status.lastSuccess
        ? `The last good backup is ${age(status.lastSuccess.finishedAt)} (${dateTime(status.lastSuccess.finishedAt)}).`
        : 'No good backup has been recorded.'}{' '}
      Check that Branchline runs every day with BACKUP_DIR on a disk that has room, or run{' '}
      <code>npm run backup</code>. <a href="#/backups">Backups</a>
    </p>
  );
}

/** The warning alone, for the top of every view (admins only; renders nothing when all is well). */
export function BackupWarning() {
  const { data } = useBackupStatus(30 * 60_000);
  const status = data?.backupStatus;
  return status?.stale ? <Warning status={status} /> : null;
}

export function BackupView() {
  const { data, error, fetching } = useBackupStatus(60_000);
  const status = data?.backupStatus;
  const last = status?.lastRun;
  return (
    <section aria-labelledby="backups-title">
      <div className="view-head">
        <h1 id="backups-title">Backups</h1>
      </div>
      {error && !data && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      {fetching && !data && <p className="muted">Loading…</p>}
      {status?.stale && <Warning status={status} />}
      {status && last && (
        <dl className="backup-last" aria-label="Last backup">
          <dt>Last backup</dt>
          <dd>
            {dateTime(last.finishedAt)} ({age(last.finishedAt)}), {last.kind}
          </dd>
          <dt>Result</dt>
          <dd className={last.ok ? 'ok' : 'error'}>
            {last.ok ? 'good (read back and checked)' : `failed: ${show(last.error)}`}
          </dd>
          {!last.ok && (
            <>
              <dt>Last good</dt>
              <dd>
                {status.lastSuccess
                  ? `${dateTime(status.lastSuccess.finishedAt)} (${age(status.lastSuccess.finishedAt)}), ${size(status.lastSuccess.sizeBytes)}`
                  : 'none'}
              </dd>
            </>
          )}
          <dt>Size</dt>
          <dd>{size(last.sizeBytes)}</dd>
          <dt>File</dt>
          <dd>
            <code>{last.file}</code>
          </dd>
        </dl>
      )}
      {status && !last && <p>No backup has been recorded yet.</p>}
      {status && status.recent.length > 1 && (
        <div className="table-wrap">
          <table className="data compact">
            <caption>Recent backups</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Kind</th>
                <th scope="col">Result</th>
                <th scope="col">Size</th>
                <th scope="col">Rows</th>
              </tr>
            </thead>
            <tbody>
              {status.recent.map((r) => (
                <tr key={`${r.startedAt}-${r.file}`}>
                  <td>{dateTime(r.finishedAt)}</td>
                  <td>{r.kind}</td>
                  <td className={r.ok ? 'ok' : 'error'}>{r.ok ? 'good' : `failed: ${show(r.error)}`}</td>
                  <td>{size(r.sizeBytes)}</td>
                  <td>{show(r.rows)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted">
        Restore a backup with <code>npm run restore -- &lt;file&gt;</code> on the server (README, “Backups”).
      </p>
    </section>
  );
}

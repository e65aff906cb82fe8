/**
 * My account: change my password (my other sessions end), and my open sessions, each of which I
 * can end (a lost phone, a shared till). Online only (src/direct.ts).
 */
import { useState } from 'react';
import { gql, useClient, useQuery } from 'urql';
import { sendNow } from '../direct.ts';
import { dateTime } from '../lib/format.ts';
import { describeError } from '../operations.ts';
import type { Session } from '../session.ts';
import { OutcomeMessage } from './OutcomeMessage.tsx';
import { PasswordFields, passwordProblem } from './PasswordFields.tsx';

export const AccountView_Sessions = gql`
  query AccountView_Sessions {
    mySessions {
      id
      name
      current
      createdAt
      lastUsedAt
      expiresAt
      version
    }
  }
`;

export const AccountView_ChangePassword = gql`
  mutation AccountView_ChangePassword($current: String!, $next: String!, $idempotencyKey: String) {
    changePassword(currentPassword: $current, newPassword: $next, idempotencyKey: $idempotencyKey) {
      __typename
      ... on MutationChangePasswordSuccess {
        data {
          id
          mustChangePassword
          passwordChangedAt
          version
        }
      }
      ... on Error {
        message
      }
      ... on ValidationError {
        fieldErrors {
          path
          message
        }
      }
    }
  }
`;

export const AccountView_RevokeSession = gql`
  mutation AccountView_RevokeSession($id: ID!, $idempotencyKey: String) {
    revokeSession(id: $id, idempotencyKey: $idempotencyKey) {
      __typename
      ... on MutationRevokeSessionSuccess {
        data {
          id
          revokedAt
          version
        }
      }
      ... on Error {
        message
      }
    }
  }
`;

interface SessionRow {
  id: string;
  name: string;
  current: boolean;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

type Message = { ok: boolean; text: string } | null;

export function AccountView({ s }: { s: Session }) {
  return (
    <section aria-labelledby="account-title">
      <div className="view-head">
        <h1 id="account-title">My account</h1>
      </div>
      <p>
        {s.user.name} · {s.user.email} · {s.user.role.toLowerCase()}
      </p>
      <ChangePassword email={s.user.email} />
      <MySessions />
    </section>
  );
}

function ChangePassword({ email }: { email: string }) {
  const client = useClient();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState({ password: '', repeat: '' });
  const [message, setMessage] = useState<Message>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    const problem = passwordProblem(next, email);
    if (problem) {
      setMessage({ ok: false, text: problem });
      return;
    }
    setBusy(true);
    const r = await sendNow(client, AccountView_ChangePassword, 'changePassword', {
      current,
      next: next.password,
    });
    setBusy(false);
    if (!r.ok) {
      setMessage({ ok: false, text: describeError(r.error) });
      return;
    }
    setCurrent('');
    setNext({ password: '', repeat: '' });
    setMessage({ ok: true, text: 'Password changed. Your other sessions were signed out.' });
    client.query(AccountView_Sessions, {}, { requestPolicy: 'network-only' }).toPromise();
  }

  return (
    <form className="edit" onSubmit={submit} aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <div className="field">
        <label>
          Current password
          <input
            type="password"
            autoComplete="current-password"
            required
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
          />
        </label>
      </div>
      <PasswordFields value={next} onChange={setNext} />
      <OutcomeMessage message={message} />
      <div className="buttons">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Changing…' : 'Change password'}
        </button>
      </div>
    </form>
  );
}

function MySessions() {
  const client = useClient();
  const [{ data, error }, reload] = useQuery({ query: AccountView_Sessions, requestPolicy: 'network-only' });
  const [message, setMessage] = useState<Message>(null);
  const rows: SessionRow[] = data?.mySessions ?? [];

  async function end(row: SessionRow) {
    const r = await sendNow(client, AccountView_RevokeSession, 'revokeSession', { id: row.id });
    setMessage(
      r.ok ? { ok: true, text: `Signed out: ${row.name}.` } : { ok: false, text: describeError(r.error) },
    );
    reload({ requestPolicy: 'network-only' });
  }

  return (
    <div className="account-sessions">
      <h2 id="sessions-title">My sessions</h2>
      <p className="muted">
        Where you are signed in. Sign out a device you no longer use or do not recognise.
      </p>
      {error && !data && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      <OutcomeMessage message={message} />
      <div className="table-wrap">
        <table className="data" aria-labelledby="sessions-title">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id} data-testid="session-row">
                <td>
                  {row.name}
                  {row.current && <span className="badge ok-badge">this device</span>}
                </td>
                <td>{dateTime(row.createdAt)}</td>
                <td>{dateTime(row.lastUsedAt)}</td>
                <td>{dateTime(row.expiresAt)}</td>
                <td className="actions">
                  {!row.current && (
                    <button type="button" onClick={() => void end(row)} aria-label={`Sign out ${row.name}`}>
                      Sign out
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

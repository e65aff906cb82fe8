/**
 * API tokens, for admins: the tokens integrators use (accounting, a web shop), with whom they act
 * as, when they expire and were last used; create one (the secret is shown once) and revoke one.
 * Live through the change feed (api_tokens rows); `lastUsedAt` is written at most once a minute
 * and is not fed, so it is as of the last load. Online only (src/direct.ts).
 */
import { type FormEvent, useState } from 'react';
import { gql, useClient, useQuery } from 'urql';
import { sendNow } from '../direct.ts';
import { dateTime } from '../lib/format.ts';
import { describeError } from '../operations.ts';
import type { Session } from '../session.ts';
import { OneTimeSecret } from './OneTimeSecret.tsx';
import { OutcomeMessage } from './OutcomeMessage.tsx';

const TOKEN = 'id name kind expiresAt revokedAt lastUsedAt createdAt version user { id name email }';

export const TokensView_Query = gql`
  query TokensView_Query {
    apiTokens(kind: API, includeInactive: true, first: 200) {
      feedCursor
      edges { node { ${TOKEN} } }
    }
    users(first: 200) {
      edges { node { id name email } }
    }
  }
`;

export const TokensView_Create = gql`
  mutation TokensView_Create($name: String!, $userId: ID, $expiresAt: DateTime, $idempotencyKey: String) {
    createApiToken(name: $name, userId: $userId, expiresAt: $expiresAt, idempotencyKey: $idempotencyKey) {
      __typename
      ... on MutationCreateApiTokenSuccess { data { token apiToken { ${TOKEN} } } }
      ... on Error { message }
      ... on ValidationError { fieldErrors { path message } }
    }
  }
`;

export const TokensView_Revoke = gql`
  mutation TokensView_Revoke($id: ID!, $idempotencyKey: String) {
    revokeApiToken(id: $id, idempotencyKey: $idempotencyKey) {
      __typename
      ... on MutationRevokeApiTokenSuccess { data { ${TOKEN} } }
      ... on Error { message }
    }
  }
`;

interface TokenRow {
  id: string;
  name: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
  user: { id: string; name: string; email: string };
}

type Message = { ok: boolean; text: string } | null;

const MAX_DAYS = 365;

function state(t: TokenRow): string {
  if (t.revokedAt) return `revoked ${dateTime(t.revokedAt)}`;
  if (t.expiresAt && new Date(t.expiresAt).getTime() <= Date.now()) return 'expired';
  return 'active';
}

export function TokensView({ s }: { s: Session }) {
  const client = useClient();
  const [{ data, error }] = useQuery({ query: TokensView_Query });
  const [message, setMessage] = useState<Message>(null);
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);
  const [form, setForm] = useState({ name: '', userId: s.user.id, days: String(MAX_DAYS) });
  const [busy, setBusy] = useState(false);
  const tokens: TokenRow[] = data?.apiTokens.edges.map((e: { node: TokenRow }) => e.node) ?? [];
  const users: { id: string; name: string; email: string }[] =
    data?.users.edges.map((e: { node: { id: string; name: string; email: string } }) => e.node) ?? [];

  async function create(e: FormEvent) {
    e.preventDefault();
    const days = Number(form.days);
    if (!Number.isFinite(days) || days <= 0 || days > MAX_DAYS) {
      setMessage({ ok: false, text: `A token lasts 1 to ${MAX_DAYS} days.` });
      return;
    }
    setBusy(true);
    // A whole number of days from now, less a minute so the server's limit is never crossed.
    const expiresAt = new Date(Date.now() + days * 86_400_000 - 60_000).toISOString();
    const r = await sendNow<{ token: string }>(client, TokensView_Create, 'createApiToken', {
      name: form.name,
      userId: form.userId,
      expiresAt,
    });
    setBusy(false);
    if (!r.ok) {
      setMessage({ ok: false, text: describeError(r.error) });
      return;
    }
    setMessage(null);
    setSecret({ name: form.name, token: r.data.token });
    setForm({ ...form, name: '' });
    client.query(TokensView_Query, {}, { requestPolicy: 'network-only' }).toPromise();
  }

  async function revoke(t: TokenRow) {
    if (!window.confirm(`Revoke "${t.name}"? Programs using it stop working at once.`)) return;
    const r = await sendNow(client, TokensView_Revoke, 'revokeApiToken', { id: t.id });
    setMessage(
      r.ok ? { ok: true, text: `"${t.name}" revoked.` } : { ok: false, text: describeError(r.error) },
    );
  }

  return (
    <section aria-labelledby="tokens-title">
      <div className="view-head">
        <h1 id="tokens-title">API tokens</h1>
      </div>
      <p className="muted">
        For programs that use the API (accounting, a web shop): a token acts as the user it belongs to. Send
        it as <code>Authorization: Bearer …</code>; try it in <a href="/graphql">GraphiQL</a> (Headers tab).
      </p>
      {error && !data && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      {secret && (
        <OneTimeSecret label={`Token "${secret.name}"`} secret={secret.token} onDone={() => setSecret(null)}>
          Copy it now into the program that uses it: it is shown only once and cannot be read back.
        </OneTimeSecret>
      )}
      <form className="edit create" onSubmit={create} aria-label="New API token">
        <div className="field">
          <label>
            Name{' '}
            <input
              required
              maxLength={200}
              value={form.name}
              onChange={(e) => setForm({ ...form, name: e.target.value })}
              placeholder="Accounting sync"
            />
          </label>
        </div>
        <div className="field">
          <label>
            Acts as
            <select value={form.userId} onChange={(e) => setForm({ ...form, userId: e.target.value })}>
              {users.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name} ({u.email})
                </option>
              ))}
            </select>
          </label>
        </div>
        <div className="field">
          <label>
            Valid for (days)
            <input
              type="number"
              min={1}
              max={MAX_DAYS}
              required
              value={form.days}
              onChange={(e) => setForm({ ...form, days: e.target.value })}
            />
          </label>
        </div>
        <OutcomeMessage message={message} />
        <div className="buttons">
          <button type="submit" className="primary" disabled={busy}>
            Create token
          </button>
        </div>
      </form>
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Acts as</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr
                key={t.id}
                data-testid="token-row"
                data-name={t.name}
                className={state(t) === 'active' ? undefined : 'archived'}
              >
                <td>{t.name}</td>
                <td>{t.user.email}</td>
                <td>{dateTime(t.createdAt)}</td>
                <td>{dateTime(t.expiresAt)}</td>
                <td>{t.lastUsedAt ? dateTime(t.lastUsedAt) : 'never'}</td>
                <td>{state(t)}</td>
                <td className="actions">
                  {state(t) === 'active' && (
                    <button type="button" onClick={() => void revoke(t)} aria-label={`Revoke ${t.name}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

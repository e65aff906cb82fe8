/**
 * Users, for admins (everyone) and managers (the clerks of their own branches): create with a
 * one-time password, edit name, role and branches, deactivate, reset a password. Live: the change
 * feed writes users rows into the cache for admins (managers do not receive users rows from the
 * feed, so their list is refreshed every few seconds). Online only (src/direct.ts).
 */
import { type FormEvent, useEffect, useState } from 'react';
import { gql, useClient, useQuery } from 'urql';
import { sendNow } from '../direct.ts';
import { describeError } from '../operations.ts';
import { isAdmin, type Role, type Session } from '../session.ts';
import { OneTimeSecret } from './OneTimeSecret.tsx';
import { OutcomeMessage } from './OutcomeMessage.tsx';

const USER = 'id name email role active mustChangePassword version branches { id code }';

export const UsersView_Query = gql`
  query UsersView_Query {
    users(first: 200, includeInactive: true) {
      feedCursor
      edges { node { ${USER} } }
    }
  }
`;

export const UsersView_Create = gql`
  mutation UsersView_Create($input: CreateUserInput!, $idempotencyKey: String) {
    createUser(input: $input, idempotencyKey: $idempotencyKey) {
      __typename
      ... on MutationCreateUserSuccess { data { password user { ${USER} } } }
      ... on Error { message }
      ... on ValidationError { fieldErrors { path message } }
    }
  }
`;

export const UsersView_Update = gql`
  mutation UsersView_Update($id: ID!, $expectedVersion: Int!, $patch: UserPatch!, $idempotencyKey: String) {
    updateUser(id: $id, expectedVersion: $expectedVersion, patch: $patch, idempotencyKey: $idempotencyKey) {
      __typename
      ... on MutationUpdateUserSuccess { data { ${USER} } }
      ... on Error { message }
      ... on ValidationError { fieldErrors { path message } }
      ... on VersionConflict { current { ... on User { ${USER} } } }
    }
  }
`;

export const UsersView_Reset = gql`
  mutation UsersView_Reset($id: ID!, $idempotencyKey: String) {
    resetPassword(id: $id, idempotencyKey: $idempotencyKey) {
      __typename
      ... on MutationResetPasswordSuccess { data { password user { ${USER} } } }
      ... on Error { message }
    }
  }
`;

export interface UserRow {
  id: string;
  name: string;
  email: string;
  role: Role;
  active: boolean;
  mustChangePassword: boolean;
  version: number;
  branches: { id: string; code: string }[];
}

type Message = { ok: boolean; text: string } | null;
type Secret = { who: string; password: string } | null;

const ROLES: Role[] = ['CLERK', 'MANAGER', 'ADMIN'];

export function UsersView({ s }: { s: Session }) {
  const admin = isAdmin(s);
  const client = useClient();
  const [{ data, error }, reload] = useQuery({ query: UsersView_Query });
  const [editing, setEditing] = useState<string | null>(null);
  const [message, setMessage] = useState<Message>(null);
  const [secret, setSecret] = useState<Secret>(null);
  const rows: UserRow[] = data?.users.edges.map((e: { node: UserRow }) => e.node) ?? [];

  // Managers get no users rows from the feed: refresh their list every few seconds instead.
  useEffect(() => {
    if (admin) return;
    const timer = setInterval(() => reload({ requestPolicy: 'network-only' }), 5000);
    return () => clearInterval(timer);
  }, [admin, reload]);

  async function reset(u: UserRow) {
    if (
      !window.confirm(`Reset the password of ${u.name}? Their sessions end and they get a one-time password.`)
    )
      return;
    const r = await sendNow<{ password: string }>(client, UsersView_Reset, 'resetPassword', { id: u.id });
    if (!r.ok) {
      setMessage({ ok: false, text: describeError(r.error) });
      return;
    }
    setMessage(null);
    setSecret({ who: u.name, password: r.data.password });
  }

  async function setActive(u: UserRow, active: boolean) {
    const r = await sendNow(client, UsersView_Update, 'updateUser', {
      id: u.id,
      expectedVersion: u.version,
      patch: { active },
    });
    setMessage(
      r.ok
        ? { ok: true, text: `${u.name} ${active ? 'can sign in again' : 'can no longer sign in'}.` }
        : { ok: false, text: conflictText(r.error, u.name) },
    );
  }

  const editingRow = rows.find((u) => u.id === editing);
  return (
    <section aria-labelledby="users-title">
      <div className="view-head">
        <h1 id="users-title">Users</h1>
        {!admin && <p className="muted">The clerks of your branches.</p>}
      </div>
      {error && !data && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      {secret && (
        <OneTimeSecret
          label={`One-time password for ${secret.who}`}
          secret={secret.password}
          onDone={() => setSecret(null)}
        >
          Give it to them now: it is shown only once. They choose their own password when they first sign in.
        </OneTimeSecret>
      )}
      <NewUser s={s} onCreated={(who, password) => setSecret({ who, password })} />
      <OutcomeMessage message={message} />
      {editingRow && (
        <EditUser
          key={editingRow.id}
          s={s}
          user={editingRow}
          onDone={(text) => {
            setEditing(null);
            if (text) setMessage({ ok: true, text });
          }}
        />
      )}
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Branches</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((u) => (
              <tr
                key={u.id}
                data-testid="user-row"
                data-email={u.email}
                className={u.active ? undefined : 'archived'}
              >
                <td>{u.name}</td>
                <td>{u.email}</td>
                <td>{u.role.toLowerCase()}</td>
                <td>{u.role === 'ADMIN' ? 'all' : u.branches.map((b) => b.code).join(', ') || '—'}</td>
                <td>{!u.active ? 'inactive' : u.mustChangePassword ? 'must change password' : 'active'}</td>
                <td className="actions">
                  {u.id !== s.user.id && (
                    <>
                      <button type="button" onClick={() => setEditing(u.id)} aria-label={`Edit ${u.name}`}>
                        Edit
                      </button>
                      <button
                        type="button"
                        onClick={() => void reset(u)}
                        aria-label={`Reset password of ${u.name}`}
                      >
                        Reset password
                      </button>
                      <button
                        type="button"
                        onClick={() => void setActive(u, !u.active)}
                        aria-label={`${u.active ? 'Deactivate' : 'Activate'} ${u.name}`}
                      >
                        {u.active ? 'Deactivate' : 'Activate'}
                      </button>
                    </>
                  )}
                  {admin && (
                    <a href={`#/history/USERS/${u.id}`} aria-label={`History of ${u.name}`}>
                      History
                    </a>
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

function conflictText(error: { __typename: string; message: string }, name: string) {
  return error.__typename === 'VersionConflict'
    ? `Someone else changed ${name} meanwhile: the list shows their version now. Check it and try again.`
    : describeError(error);
}

/** Role and branch choices: managers give only the clerk role and their own branches. */
function RoleAndBranches(props: {
  s: Session;
  role: Role;
  branchIds: string[];
  onChange: (next: { role: Role; branchIds: string[] }) => void;
}) {
  const { s, role, branchIds, onChange } = props;
  const roles = isAdmin(s) ? ROLES : (['CLERK'] as Role[]);
  return (
    <>
      <div className="field">
        <label>
          Role
          <select value={role} onChange={(e) => onChange({ role: e.target.value as Role, branchIds })}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
      </div>
      {role !== 'ADMIN' && (
        <fieldset className="tabs">
          <legend>Branches</legend>
          {s.branches.map((b) => (
            <label key={b.id} className={branchIds.includes(b.id) ? 'on' : undefined}>
              <input
                type="checkbox"
                checked={branchIds.includes(b.id)}
                onChange={(e) =>
                  onChange({
                    role,
                    branchIds: e.target.checked ? [...branchIds, b.id] : branchIds.filter((x) => x !== b.id),
                  })
                }
              />
              {b.code}
            </label>
          ))}
        </fieldset>
      )}
    </>
  );
}

function NewUser({ s, onCreated }: { s: Session; onCreated: (who: string, password: string) => void }) {
  const client = useClient();
  const [open, setOpen] = useState(false);
  const empty = { name: '', email: '', role: 'CLERK' as Role, branchIds: [s.branchId] };
  const [form, setForm] = useState(empty);
  const [message, setMessage] = useState<Message>(null);
  const [busy, setBusy] = useState(false);
  if (!open) {
    return (
      <p>
        <button type="button" onClick={() => setOpen(true)}>
          New user
        </button>
      </p>
    );
  }
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    const input = {
      ...form,
      id: crypto.randomUUID(),
      branchIds: form.role === 'ADMIN' ? [] : form.branchIds,
    };
    const r = await sendNow<{ password: string; user: UserRow }>(client, UsersView_Create, 'createUser', {
      input,
    });
    setBusy(false);
    if (!r.ok) {
      setMessage({ ok: false, text: describeError(r.error) });
      return;
    }
    setMessage(null);
    setForm(empty);
    setOpen(false);
    onCreated(r.data.user.name, r.data.password);
  }
  return (
    <form className="edit create" onSubmit={submit} aria-label="New user">
      <div className="field">
        <label>
          Name{' '}
          <input
            required
            maxLength={200}
            value={form.name}
            onChange={(e) => setForm({ ...form, name: e.target.value })}
          />
        </label>
      </div>
      <div className="field">
        <label>
          Email{' '}
          <input
            type="email"
            required
            maxLength={320}
            value={form.email}
            onChange={(e) => setForm({ ...form, email: e.target.value })}
          />
        </label>
      </div>
      <RoleAndBranches
        s={s}
        role={form.role}
        branchIds={form.branchIds}
        onChange={(v) => setForm({ ...form, ...v })}
      />
      <OutcomeMessage message={message} />
      <div className="buttons">
        <button type="button" onClick={() => setOpen(false)}>
          Close
        </button>
        <button type="submit" className="primary" disabled={busy}>
          Create
        </button>
      </div>
    </form>
  );
}

function EditUser({ s, user, onDone }: { s: Session; user: UserRow; onDone: (text?: string) => void }) {
  const client = useClient();
  // The version the form started from: a change by someone else meanwhile is a conflict.
  const [start] = useState(user);
  const [form, setForm] = useState({
    name: user.name,
    role: user.role,
    branchIds: user.branches.map((b) => b.id),
  });
  const [message, setMessage] = useState<Message>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const before = start.branches.map((b) => b.id).sort();
    const patch: Record<string, unknown> = {};
    if (form.name.trim() !== start.name) patch.name = form.name;
    if (form.role !== start.role) patch.role = form.role;
    if (form.role !== 'ADMIN' && JSON.stringify([...form.branchIds].sort()) !== JSON.stringify(before))
      patch.branchIds = form.branchIds;
    if (Object.keys(patch).length === 0) {
      onDone();
      return;
    }
    setBusy(true);
    const r = await sendNow(client, UsersView_Update, 'updateUser', {
      id: start.id,
      expectedVersion: start.version,
      patch,
    });
    setBusy(false);
    if (r.ok) onDone(`${form.name} saved.`);
    else setMessage({ ok: false, text: conflictText(r.error, start.name) });
  }

  return (
    <form className="edit" onSubmit={submit} aria-label={`Edit ${user.name}`}>
      <h2>Edit {user.name}</h2>
      <div className="field">
        <label>
          Name{' '}
          <input
            required
            maxLength={200}
            value={form.name}
            onChange={(e) => setForm({ ...form, name: e.target.value })}
          />
        </label>
      </div>
      <RoleAndBranches
        s={s}
        role={form.role}
        branchIds={form.branchIds}
        onChange={(v) => setForm({ ...form, ...v })}
      />
      <OutcomeMessage message={message} />
      <div className="buttons">
        <button type="button" onClick={() => onDone()}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy}>
          Save
        </button>
      </div>
    </form>
  );
}

/**
 * After an administrator created the account or reset its password: the one-time password must
 * be replaced before anything else (the server refuses everything else with
 * PASSWORD_CHANGE_REQUIRED). Shown instead of the app; no feed or outbox runs until it is done.
 */
import { type FormEvent, useState } from 'react';
import { type Session, type SessionBranch, session } from '../session.ts';
import { AccountView_ChangePassword } from './AccountView.tsx';
import { Login_BranchesQuery, post } from './Login.tsx';
import { PasswordFields, passwordProblem } from './PasswordFields.tsx';

export function ForcePasswordChange({ s, onSignOut }: { s: Session; onSignOut: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState({ password: '', repeat: '' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const problem = passwordProblem(next, s.user.email);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const r = await post(
        AccountView_ChangePassword,
        { current, next: next.password, idempotencyKey: crypto.randomUUID() },
        s.token,
      );
      const result = r.data?.changePassword;
      if (result?.__typename !== 'MutationChangePasswordSuccess') {
        const fields = result?.fieldErrors?.map((f: { message: string }) => `New password ${f.message}.`);
        setError(
          fields?.join(' ') || result?.message || r.errors?.[0]?.message || 'The password was not changed',
        );
        return;
      }
      const b = await post(Login_BranchesQuery, {}, s.token);
      const visible: SessionBranch[] =
        b.data?.branches?.edges?.map((e: { node: SessionBranch }) => e.node) ?? [];
      if (visible.length === 0) {
        setError('Your password is changed, but no branch is assigned to you yet: ask your manager.');
        return;
      }
      session.set({
        ...s,
        branches: visible,
        branchId: s.branches.find((x) => visible.some((v) => v.id === x.id))?.id ?? visible[0].id,
        mustChangePassword: false,
      });
      location.hash = '#/stock';
    } catch {
      setError('Cannot reach the server. Changing the password needs a connection.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form onSubmit={submit} aria-labelledby="force-title">
        <h1 id="force-title">Choose your password</h1>
        <p>
          Hello {s.user.name}. Your password was set by an administrator: choose your own before you go on.
        </p>
        <label>
          Password you were given
          <input
            type="password"
            autoComplete="current-password"
            required
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
          />
        </label>
        <PasswordFields value={next} onChange={setNext} />
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save and continue'}
        </button>
        <button type="button" className="link" onClick={onSignOut}>
          Sign out
        </button>
      </form>
    </main>
  );
}

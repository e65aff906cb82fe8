/**
 * Sign in with email and password (the first password is on the server: see the hint). When
 * the server throttles sign-in (TooManyAttempts), its message stays up and the button counts down
 * the wait before it can be pressed again.
 */
import { print } from 'graphql';
import { type FormEvent, useEffect, useState } from 'react';
import { gql } from 'urql';
import { type Session, type SessionBranch, session } from '../session.ts';

const Login_Mutation = gql`
  mutation Login_Mutation($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      __typename
      ... on MutationLoginSuccess {
        data {
          token
          user {
            id
            name
            email
            role
            mustChangePassword
            branches {
              id
              code
              name
            }
          }
        }
      }
      ... on Error {
        message
      }
      ... on TooManyAttempts {
        retryAfterSeconds
      }
    }
  }
`;

export const Login_BranchesQuery = gql`
  query Login_BranchesQuery {
    branches(first: 200) {
      edges {
        node {
          id
          code
          name
        }
      }
    }
  }
`;

export async function post(query: unknown, variables: Record<string, unknown>, token?: string) {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query: print(query as never), variables }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: GraphQL JSON
  return (await res.json()) as { data?: any; errors?: { message: string }[] };
}

export function Login() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Throttled: the time (ms) from which signing in may be tried again, and the seconds left.
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [secondsLeft, setSecondsLeft] = useState(0);

  useEffect(() => {
    if (retryAt === null) return;
    const tick = () => {
      const left = Math.ceil((retryAt - Date.now()) / 1000);
      setSecondsLeft(Math.max(0, left));
      if (left > 0) return;
      setRetryAt(null);
      setError(null);
    };
    tick();
    const timer = setInterval(tick, 250);
    return () => clearInterval(timer);
  }, [retryAt]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await post(Login_Mutation, { email, password });
      const result = r.data?.login;
      if (result?.__typename === 'TooManyAttempts') {
        setError(result.message);
        setRetryAt(Date.now() + result.retryAfterSeconds * 1000);
        return;
      }
      if (result?.__typename !== 'MutationLoginSuccess') {
        setError(result?.message ?? r.errors?.[0]?.message ?? 'Sign-in failed');
        return;
      }
      const { token, user } = result.data;
      if (user.mustChangePassword) {
        // Set by an administrator: nothing else answers until it is changed (ForcePasswordChange).
        session.set({
          token,
          user: { id: user.id, name: user.name, email: user.email, role: user.role },
          branches: user.branches ?? [],
          branchId: user.branches?.[0]?.id ?? '',
          mustChangePassword: true,
        });
        return;
      }
      const b = await post(Login_BranchesQuery, {}, token);
      const visible: SessionBranch[] =
        b.data?.branches?.edges?.map((e: { node: SessionBranch }) => e.node) ?? user.branches ?? [];
      if (visible.length === 0) {
        setError('This user has no branch assigned.');
        return;
      }
      const s: Session = {
        token,
        user: { id: user.id, name: user.name, email: user.email, role: user.role },
        branches: visible,
        branchId: (user.branches?.[0] ?? visible[0]).id,
      };
      session.set(s);
      location.hash = '#/stock';
    } catch {
      setError('Cannot reach the server. Signing in needs a connection.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Branchline</h1>
        <p>Sign in to your branch.</p>
        <label>
          Email
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || retryAt !== null}>
          {busy ? 'Signing in…' : retryAt !== null ? `Try again in ${secondsLeft} s` : 'Sign in'}
        </button>
        <p className="hint">
          First sign-in: the administrator's password was printed by the server on its first start and is kept
          in <code>.data/initial-password</code> on the server.
        </p>
      </form>
    </main>
  );
}

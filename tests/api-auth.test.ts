/** Sign-in, bearer tokens and the authentication gate, against the real server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { login, ok, PASSWORD } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { testLog } from './helpers/db.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ seed: true });
});
afterAll(async () => {
  await t?.stop();
});

const LOGIN = `mutation ($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    __typename
    ... on MutationLoginSuccess { data { token expiresAt user { email role branches { code } } } }
    ... on Error { message }
  }
}`;

const CREATE_TOKEN = `mutation ($name: String!, $key: String) {
  createApiToken(name: $name, idempotencyKey: $key) {
    __typename
    ... on MutationCreateApiTokenSuccess { data { token apiToken { id kind name } } }
    ... on Error { message }
  }
}`;

describe('authentication', () => {
  it('answers only login, health and introspection without a token', async () => {
    expect(typeof (await t.gql('{ health { ok } }')).data?.health.ok).toBe('boolean');
    expect((await t.gql('{ __schema { queryType { name } } }')).data?.__schema.queryType.name).toBe('Query');
    for (const query of [
      '{ me { email } }',
      '{ products { edges { node { id } } } }',
      '{ health { ok } branches { edges { node { id } } } }',
      'query { ...F } fragment F on Query { orders { edges { node { id } } } }',
      'mutation { receiveStock(branchId: "x", productId: "y", quantity: 1) { __typename } }',
    ]) {
      const res = await t.gql(query);
      expect(res.data ?? null).toBeNull();
      expect(res.errors?.[0].extensions?.code, query).toBe('UNAUTHENTICATED');
    }
    const bogus = await t.gql('{ me { email } }', {}, 'bl_not-a-real-token');
    expect(bogus.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('signs in with a session token that expires, and refuses wrong credentials alike', async () => {
    const res = await t.gql(LOGIN, { email: 'Manager.HB@example.com', password: PASSWORD });
    const data = ok(res, 'login');
    expect(data.user).toEqual({
      email: 'manager.hb@example.com',
      role: 'MANAGER',
      branches: [{ code: 'HB' }],
    });
    const me = await t.gql('{ me { email role } }', {}, data.token);
    expect(me.data?.me).toEqual({ email: 'manager.hb@example.com', role: 'MANAGER' });
    const { rows } = await t.db.pool.query(
      `SELECT kind, expires_at > now() + interval '1 hour' AS future, token_hash <> $1 AS hashed
         FROM api_tokens WHERE expires_at = $2`,
      [data.token, new Date(data.expiresAt)],
    );
    expect(rows).toEqual([{ kind: 'SESSION', future: true, hashed: true }]);

    const wrong = await t.gql(LOGIN, { email: 'manager.hb@example.com', password: 'nope' });
    const unknown = await t.gql(LOGIN, { email: 'nobody@example.com', password: PASSWORD });
    expect(wrong.data?.login).toEqual({
      __typename: 'AuthenticationFailed',
      message: 'Wrong email or password',
    });
    expect(unknown.data?.login).toEqual(wrong.data?.login);
  });

  it('lets admins create and revoke API tokens that act as a user', async () => {
    const admin = await login(t, 'admin@example.com');
    const created = ok(
      await t.gql(CREATE_TOKEN, { name: 'accounting sync', key: 'tok-1' }, admin),
      'createApiToken',
    );
    expect(created.token).toMatch(/^bl_/);
    expect(created.apiToken).toMatchObject({ kind: 'API', name: 'accounting sync' });
    expect((await t.gql('{ me { email } }', {}, created.token)).data?.me.email).toBe('admin@example.com');

    // A replay returns the record but never the secret again.
    const replay = ok(
      await t.gql(CREATE_TOKEN, { name: 'accounting sync', key: 'tok-1' }, admin),
      'createApiToken',
    );
    expect(replay).toEqual({ token: null, apiToken: created.apiToken });

    const revoke = await t.gql(
      `mutation ($id: ID!) { revokeApiToken(id: $id) { __typename ... on MutationRevokeApiTokenSuccess { data { revokedAt } } } }`,
      { id: created.apiToken.id },
      admin,
    );
    expect(ok(revoke, 'revokeApiToken').revokedAt).toBeTruthy();
    const after = await t.gql('{ me { email } }', {}, created.token);
    expect(after.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('makes sessions expire after SESSION_TTL_HOURS', async () => {
    const short = buildApp({ databaseUrl: t.db.url, log: testLog, sessionTtlHours: 1 / 3600 });
    const { url } = await short.start(0, '127.0.0.1');
    try {
      const post = async (query: string, variables: Record<string, unknown>, token?: string) =>
        (
          await fetch(`${url}/graphql`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(token ? { authorization: `Bearer ${token}` } : {}),
            },
            body: JSON.stringify({ query, variables }),
          })
        ).json();
      const res = await post(LOGIN, { email: 'clerk.dt@example.com', password: PASSWORD });
      const { token, expiresAt } = res.data.login.data;
      expect(new Date(expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(1000);
      expect((await post('{ me { email } }', {}, token)).data?.me.email).toBe('clerk.dt@example.com');
      await new Promise((r) => setTimeout(r, 1100));
      expect((await post('{ me { email } }', {}, token)).errors?.[0].extensions?.code).toBe(
        'UNAUTHENTICATED',
      );
    } finally {
      await short.stop();
    }
  });

  it('refuses token management to non-admins', async () => {
    const manager = await login(t, 'manager.dt@example.com');
    const res = await t.gql(CREATE_TOKEN, { name: 'mine' }, manager);
    expect(res.data?.createApiToken.__typename).toBe('Forbidden');
    const { rows } = await t.db.pool.query("SELECT count(*)::int AS n FROM api_tokens WHERE name = 'mine'");
    expect(rows[0].n).toBe(0);
  });
});

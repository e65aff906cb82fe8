/**
 * Accounts against the real server: changePassword, logout, mySessions / revokeSession, createUser,
 * updateUser, resetPassword, the users and apiTokens lists, the forced password change, and every
 * refusal (each leaves the database as it was). Also: the session cap, the API token lifetime cap,
 * api_tokens.last_used_at (throttled, versionless, not fed), re-hashing at a higher cost, and that
 * no password hash ever reaches the change log or the idempotency store.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { LastUsedRecorder } from '../src/auth/last-used.ts';
import { configurePasswordHashing } from '../src/auth/password.ts';
import { checksum, login, ok, PASSWORD, type Sample, sample, TABLES } from './helpers/api.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { testLog } from './helpers/db.ts';
import { TEST_HASH_COST } from './helpers/password-cost.ts';

let t: TestApp;
let s: Sample;
let admin: string;
let managerDt: string;
let clerkDt: string;
beforeAll(async () => {
  t = await startTestApp({ seed: true });
  s = await sample(t);
  [admin, managerDt, clerkDt] = await Promise.all([
    login(t, 'admin@example.com'),
    login(t, 'manager.dt@example.com'),
    login(t, 'clerk.dt@example.com'),
  ]);
});
afterAll(async () => {
  await t?.stop();
});

/** Using a token moves its last_used_at: not a change. */
const IGNORE = { api_tokens: ['last_used_at'] };

const LOGIN = `mutation ($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    __typename
    ... on MutationLoginSuccess { data { token user { id email mustChangePassword } } }
    ... on Error { message }
  } }`;
const CHANGE_PASSWORD = `mutation ($current: String!, $next: String!, $key: String) {
  changePassword(currentPassword: $current, newPassword: $next, idempotencyKey: $key) {
    __typename
    ... on MutationChangePasswordSuccess { data { id email mustChangePassword version } }
    ... on ValidationError { message fieldErrors { path message } }
    ... on Error { message }
  } }`;
const CREATE_USER = `mutation ($input: CreateUserInput!, $key: String) {
  createUser(input: $input, idempotencyKey: $key) {
    __typename
    ... on MutationCreateUserSuccess {
      data { password user { id email role active mustChangePassword version branches { code } } }
    }
    ... on Error { message }
  } }`;
const UPDATE_USER = `mutation ($id: ID!, $v: Int!, $patch: UserPatch!) {
  updateUser(id: $id, expectedVersion: $v, patch: $patch) {
    __typename
    ... on MutationUpdateUserSuccess { data { id name role active version branches { code } } }
    ... on VersionConflict { changedFields expectedVersion current { ... on User { id version name } } }
    ... on Error { message }
  } }`;
const RESET = `mutation ($id: ID!, $key: String) {
  resetPassword(id: $id, idempotencyKey: $key) {
    __typename
    ... on MutationResetPasswordSuccess { data { password user { id mustChangePassword } } }
    ... on Error { message }
  } }`;
const LOGOUT = `mutation { logout { __typename ... on MutationLogoutSuccess { data { id revokedAt } } } }`;
const SESSIONS = '{ mySessions { id name current lastUsedAt expiresAt } }';

async function signIn(email: string, password: string) {
  return (await t.gql(LOGIN, { email, password })).data?.login;
}

async function tokenOf(email: string, password: string): Promise<string> {
  const res = await signIn(email, password);
  expect(res?.__typename, JSON.stringify(res)).toBe('MutationLoginSuccess');
  return res.data.token;
}

/** The first defined value `fn` gives within 10 s. */
async function until<T>(fn: () => Promise<T | undefined | null | false>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const authenticated = async (token: string) => !(await t.gql('{ me { id } }', {}, token)).errors;

let seq = 0;
/** A fresh clerk of `branches` (created by the admin), with a password of our own. */
async function newClerk(branches = ['DT'], password = 'clerk-password-1') {
  const email = `clerk${++seq}.${randomUUID().slice(0, 6)}@example.com`;
  const created = ok(
    await t.gql(
      CREATE_USER,
      {
        input: { name: `Clerk ${seq}`, email, role: 'CLERK', branchIds: branches.map((b) => s.branches[b]) },
      },
      admin,
    ),
    'createUser',
  );
  const first = await tokenOf(email, created.password);
  ok(await t.gql(CHANGE_PASSWORD, { current: created.password, next: password }, first), 'changePassword');
  const { rows } = await t.db.pool.query('SELECT version FROM users WHERE id = $1', [created.user.id]);
  return { id: created.user.id as string, email, password, version: rows[0].version as number };
}

describe('changePassword', () => {
  it('checks the current password, sets the new one and ends the other sessions only', async () => {
    const u = await newClerk();
    const [a, b] = [await tokenOf(u.email, u.password), await tokenOf(u.email, u.password)];
    const res = await t.gql(CHANGE_PASSWORD, { current: u.password, next: 'a much better one' }, a);
    expect(ok(res, 'changePassword')).toMatchObject({ email: u.email, mustChangePassword: false });
    expect(await authenticated(a)).toBe(true);
    expect(await authenticated(b)).toBe(false);
    expect((await signIn(u.email, u.password)).__typename).toBe('AuthenticationFailed');
    expect((await signIn(u.email, 'a much better one')).__typename).toBe('MutationLoginSuccess');
  });

  it('refuses a wrong current password, a short one and the email, changing nothing', async () => {
    const u = await newClerk();
    const token = await tokenOf(u.email, u.password);
    const before = await checksum(t, TABLES, IGNORE);
    const wrong = await t.gql(
      CHANGE_PASSWORD,
      { current: 'not it at all', next: 'something long enough' },
      token,
    );
    expect(wrong.data?.changePassword).toEqual({
      __typename: 'AuthenticationFailed',
      message: 'Your current password is not correct',
    });
    const short = await t.gql(CHANGE_PASSWORD, { current: u.password, next: 'short' }, token);
    expect(short.data?.changePassword.__typename).toBe('ValidationError');
    expect(short.data?.changePassword.fieldErrors).toEqual([
      { path: ['newPassword'], message: 'must be at least 10 characters' },
    ]);
    for (const next of [u.email, u.email.toUpperCase(), u.email.split('@')[0] as string]) {
      const same = await t.gql(CHANGE_PASSWORD, { current: u.password, next }, token);
      expect(same.data?.changePassword.fieldErrors, next).toEqual([
        { path: ['newPassword'], message: 'must not be your email address' },
      ]);
    }
    expect(await checksum(t, TABLES, IGNORE)).toEqual(before);
  });

  it('counts wrong current passwords like failed sign-ins (TooManyAttempts)', async () => {
    const u = await newClerk();
    const token = await tokenOf(u.email, u.password);
    const types: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await t.gql(
        CHANGE_PASSWORD,
        { current: `wrong ${i}`, next: 'something long enough' },
        token,
      );
      types.push(res.data?.changePassword.__typename);
    }
    expect(types.slice(0, 5)).toEqual(Array(5).fill('AuthenticationFailed'));
    expect(types[5]).toBe('TooManyAttempts');
  });

  it('is idempotent with a key that records no password', async () => {
    const u = await newClerk();
    const token = await tokenOf(u.email, u.password);
    const vars = { current: u.password, next: 'the replayed one 1', key: 'pw-1' };
    const first = ok(await t.gql(CHANGE_PASSWORD, vars, token), 'changePassword');
    const again = ok(await t.gql(CHANGE_PASSWORD, vars, token), 'changePassword');
    expect(again).toEqual(first);
    const { rows } = await t.db.pool.query(
      "SELECT request_hash, response::text AS r FROM idempotency_keys WHERE key = 'pw-1'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].r).not.toMatch(/scrypt|password_?hash|the replayed one/i);
    // A key PostgreSQL cannot hold is refused before anything is looked up or checked.
    const nul = await t.gql(CHANGE_PASSWORD, { ...vars, key: 'a\u0000b' }, token);
    expect(nul.data?.changePassword).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['idempotencyKey'], message: 'must not contain NUL characters' }],
    });
  });
});

describe('sessions', () => {
  it('logout ends this session only; mySessions lists the open ones; revokeSession ends one', async () => {
    const u = await newClerk();
    const [a, b, c] = [
      await tokenOf(u.email, u.password),
      await tokenOf(u.email, u.password),
      await tokenOf(u.email, u.password),
    ];
    const listed = (await t.gql(SESSIONS, {}, a)).data?.mySessions;
    expect(listed).toHaveLength(4); // three here and the one newClerk signed in with
    expect(listed.filter((x: { current: boolean }) => x.current)).toHaveLength(1);
    expect(listed[0].name).toMatch(/ from 127\.0\.0\.1$/);

    expect(ok(await t.gql(LOGOUT, {}, b), 'logout').revokedAt).toBeTruthy();
    expect(await authenticated(b)).toBe(false);
    expect(await authenticated(a)).toBe(true);

    const cId = (await t.gql(SESSIONS, {}, c)).data?.mySessions.find(
      (x: { current: boolean }) => x.current,
    ).id;
    const revoke = `mutation ($id: ID!) { revokeSession(id: $id) { __typename ... on Error { message } } }`;
    // Another user's session does not exist for you.
    const before = await checksum(t, TABLES, IGNORE);
    const foreign = await t.gql(revoke, { id: cId }, clerkDt);
    expect(foreign.data?.revokeSession.__typename).toBe('NotFound');
    expect(await checksum(t, TABLES, IGNORE)).toEqual(before);
    expect((await t.gql(revoke, { id: cId }, a)).data?.revokeSession.__typename).toBe(
      'MutationRevokeSessionSuccess',
    );
    expect(await authenticated(c)).toBe(false);
    expect((await t.gql(SESSIONS, {}, a)).data?.mySessions).toHaveLength(2);
  });

  it('keeps at most SESSIONS_PER_USER sessions: a new sign-in ends the oldest', async () => {
    const u = await newClerk();
    const capped = buildApp({ databaseUrl: t.db.url, log: testLog, accounts: { sessionsPerUser: 2 } });
    const { url } = await capped.start(0, '127.0.0.1');
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
      const tokens: string[] = [];
      for (let i = 0; i < 3; i++) {
        tokens.push((await post(LOGIN, { email: u.email, password: u.password })).data.login.data.token);
      }
      const alive = await Promise.all(
        tokens.map(async (tk) => !(await post('{ me { id } }', {}, tk)).errors),
      );
      expect(alive).toEqual([false, true, true]);
      const { rows } = await t.db.pool.query(
        "SELECT count(*)::int AS n FROM api_tokens WHERE user_id = $1 AND kind = 'SESSION' AND revoked_at IS NULL",
        [u.id],
      );
      expect(rows[0].n).toBe(2);
    } finally {
      await capped.stop();
    }
  });
});

describe('users: create, update, reset', () => {
  it('creates a user with a one-time password that must be changed before anything else', async () => {
    const email = 'new.clerk@example.com';
    const input = {
      name: 'New Clerk',
      email: 'New.Clerk@Example.com',
      role: 'CLERK',
      branchIds: [s.branches.DT],
    };
    const created = ok(await t.gql(CREATE_USER, { input, key: 'cu-1' }, managerDt), 'createUser');
    expect(created.user).toMatchObject({
      email,
      role: 'CLERK',
      mustChangePassword: true,
      branches: [{ code: 'DT' }],
    });
    expect(created.password).toMatch(/^[A-Za-z2-9]{16}$/);
    // A replay shows the user but never the password again.
    const replay = ok(await t.gql(CREATE_USER, { input, key: 'cu-1' }, managerDt), 'createUser');
    expect(replay).toEqual({ ...created, password: null });

    const signedIn = await signIn(email, created.password);
    expect(signedIn.data.user.mustChangePassword).toBe(true);
    const token = signedIn.data.token;
    const refused = await t.gql('{ products(first: 1) { edges { node { id } } } }', {}, token);
    expect(refused.data ?? null).toBeNull();
    expect(refused.errors?.[0]).toMatchObject({
      message: 'Change your password first (changePassword): it was set by an administrator',
      extensions: { code: 'PASSWORD_CHANGE_REQUIRED' },
    });
    const mutation = await t.gql(
      'mutation ($b: ID!, $p: ID!) { receiveStock(branchId: $b, productId: $p, quantity: 1) { __typename } }',
      { b: s.branches.DT, p: s.productIds[0] },
      token,
    );
    expect(mutation.errors?.[0].extensions?.code).toBe('PASSWORD_CHANGE_REQUIRED');
    // Subscriptions too (SSE here).
    const sse = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query: 'subscription { changes { cursor } }' }),
    });
    expect(await sse.text()).toContain('PASSWORD_CHANGE_REQUIRED');
    expect((await t.gql('{ me { email mustChangePassword } }', {}, token)).data?.me).toEqual({
      email,
      mustChangePassword: true,
    });
    ok(
      await t.gql(CHANGE_PASSWORD, { current: created.password, next: 'my own password' }, token),
      'changePassword',
    );
    const now = await t.gql('{ products(first: 1) { edges { node { id } } } }', {}, token);
    expect(now.errors).toBeUndefined();
  });

  it('refuses what a manager may not do, and bad input, changing nothing', async () => {
    const hbClerk = await newClerk(['HB']);
    const before = await checksum(t, TABLES, IGNORE);
    const cases: [string, string, Record<string, unknown>, string, string][] = [
      [
        'manager creates a manager',
        managerDt,
        { role: 'MANAGER', branchIds: [s.branches.DT] },
        'Forbidden',
        'A manager can only give the clerk role and branches of their own',
      ],
      [
        'manager creates a clerk of another branch',
        managerDt,
        { role: 'CLERK', branchIds: [s.branches.HB] },
        'NotFound',
        `Branch ${s.branches.HB} was not found`,
      ],
      [
        'clerk creates a clerk',
        clerkDt,
        { role: 'CLERK', branchIds: [s.branches.DT] },
        'Forbidden',
        'Only a manager or an admin can manage users',
      ],
      [
        'clerk without a branch',
        admin,
        { role: 'CLERK', branchIds: [] },
        'ValidationError',
        'A manager or clerk needs at least one branch',
      ],
      [
        'an email in use',
        admin,
        { role: 'CLERK', branchIds: [s.branches.DT], email: 'clerk.dt@example.com' },
        'ValidationError',
        'email is already in use',
      ],
      [
        'not an email',
        admin,
        { role: 'CLERK', branchIds: [s.branches.DT], email: 'nobody' },
        'ValidationError',
        'Invalid input: email must be an email address',
      ],
    ];
    for (const [what, token, input, type, message] of cases) {
      const res = await t.gql(
        CREATE_USER,
        { input: { name: 'X', email: `x.${randomUUID()}@example.com`, ...input } },
        token,
      );
      expect(res.data?.createUser, what).toEqual({ __typename: type, message });
    }
    // A manager cannot see, edit or reset clerks of other branches, nor managers: NotFound, like an unknown id.
    const { rows } = await t.db.pool.query(
      "SELECT id, version FROM users WHERE email = 'manager.hb@example.com'",
    );
    for (const target of [
      hbClerk,
      { id: rows[0].id, version: rows[0].version },
      { id: randomUUID(), version: 1 },
    ]) {
      const upd = await t.gql(
        UPDATE_USER,
        { id: target.id, v: target.version, patch: { name: 'Y' } },
        managerDt,
      );
      expect(upd.data?.updateUser).toEqual({
        __typename: 'NotFound',
        message: `User ${target.id} was not found`,
      });
      const reset = await t.gql(RESET, { id: target.id }, managerDt);
      expect(reset.data?.resetPassword).toEqual({
        __typename: 'NotFound',
        message: `User ${target.id} was not found`,
      });
      expect(
        (await t.gql('query ($id: ID!) { user(id: $id) { id } }', { id: target.id }, managerDt)).data?.user,
      ).toBeNull();
    }
    expect(await checksum(t, TABLES, IGNORE)).toEqual(before);
  });

  it('lists the users one manages: admins all, managers their clerks, clerks none', async () => {
    const list = async (token: string) =>
      (await t.gql('{ users(first: 200) { feedCursor edges { node { email role } } } }', {}, token)).data
        ?.users;
    const all = await list(admin);
    expect(all.feedCursor).toBeTruthy();
    expect(all.edges.map((e: { node: { email: string } }) => e.node.email)).toEqual(
      expect.arrayContaining(['admin@example.com', 'manager.hb@example.com', 'clerk.ng@example.com']),
    );
    const mine = (await list(managerDt)).edges.map((e: { node: { email: string; role: string } }) => e.node);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((u: { role: string }) => u.role === 'CLERK')).toBe(true);
    expect(mine.map((u: { email: string }) => u.email)).toContain('clerk.dt@example.com');
    expect(mine.map((u: { email: string }) => u.email)).not.toContain('clerk.hb@example.com');
    expect((await list(clerkDt)).edges).toEqual([]);
  });

  it('updates name, role, branches and active with the version seen (VersionConflict when stale)', async () => {
    const u = await newClerk();
    const session = await tokenOf(u.email, u.password);
    const renamed = ok(
      await t.gql(UPDATE_USER, { id: u.id, v: u.version, patch: { name: 'Renamed' } }, managerDt),
      'updateUser',
    );
    expect(renamed).toMatchObject({ name: 'Renamed', version: u.version + 1 });
    const stale = await t.gql(UPDATE_USER, { id: u.id, v: u.version, patch: { name: 'Other' } }, admin);
    expect(stale.data?.updateUser).toMatchObject({
      __typename: 'VersionConflict',
      changedFields: ['name'],
      expectedVersion: u.version,
      current: { id: u.id, version: u.version + 1, name: 'Renamed' },
    });
    // Branches alone move the version too; a manager may not give a branch of their own away from DT.
    const moved = ok(
      await t.gql(
        UPDATE_USER,
        { id: u.id, v: renamed.version, patch: { branchIds: [s.branches.HB, s.branches.DT] } },
        admin,
      ),
      'updateUser',
    );
    expect(moved.branches.map((b: { code: string }) => b.code).sort()).toEqual(['DT', 'HB']);
    expect(moved.version).toBe(renamed.version + 1);
    // Now a clerk of HB too: no longer one of manager.dt's.
    const hidden = await t.gql(UPDATE_USER, { id: u.id, v: moved.version, patch: { name: 'Z' } }, managerDt);
    expect(hidden.data?.updateUser.__typename).toBe('NotFound');
    const promoted = ok(
      await t.gql(UPDATE_USER, { id: u.id, v: moved.version, patch: { role: 'MANAGER' } }, admin),
      'updateUser',
    );
    expect(promoted.role).toBe('MANAGER');
    // Deactivated: the session ends and signing in fails.
    const off = ok(
      await t.gql(UPDATE_USER, { id: u.id, v: promoted.version, patch: { active: false } }, admin),
      'updateUser',
    );
    expect(off.active).toBe(false);
    expect(await authenticated(session)).toBe(false);
    expect((await signIn(u.email, u.password)).__typename).toBe('AuthenticationFailed');
    const on = ok(
      await t.gql(UPDATE_USER, { id: u.id, v: off.version, patch: { active: true } }, admin),
      'updateUser',
    );
    expect(on.active).toBe(true);
    expect(await authenticated(session)).toBe(false);
    expect((await signIn(u.email, u.password)).__typename).toBe('MutationLoginSuccess');
  });

  it('refuses changing one’s own role or deactivating oneself, and an empty patch', async () => {
    const { rows } = await t.db.pool.query("SELECT id, version FROM users WHERE email = 'admin@example.com'");
    const before = await checksum(t, TABLES, IGNORE);
    for (const patch of [{ role: 'CLERK', branchIds: [s.branches.DT] }, { active: false }]) {
      const res = await t.gql(UPDATE_USER, { id: rows[0].id, v: rows[0].version, patch }, admin);
      expect(res.data?.updateUser).toEqual({
        __typename: 'Forbidden',
        message: 'You cannot change your own role or deactivate yourself; ask another admin',
      });
    }
    const empty = await t.gql(UPDATE_USER, { id: rows[0].id, v: rows[0].version, patch: {} }, admin);
    expect(empty.data?.updateUser.__typename).toBe('ValidationError');
    const self = await t.gql(RESET, { id: rows[0].id }, admin);
    expect(self.data?.resetPassword).toEqual({
      __typename: 'Forbidden',
      message: 'Change your own password under My account (changePassword)',
    });
    expect(await checksum(t, TABLES, IGNORE)).toEqual(before);
  });

  it('resets a password: a one-time one, the old one and every session end', async () => {
    const u = await newClerk();
    const session = await tokenOf(u.email, u.password);
    const reset = ok(await t.gql(RESET, { id: u.id, key: 'rp-1' }, managerDt), 'resetPassword');
    expect(reset.user.mustChangePassword).toBe(true);
    expect(await authenticated(session)).toBe(false);
    expect((await signIn(u.email, u.password)).__typename).toBe('AuthenticationFailed');
    const again = await signIn(u.email, reset.password);
    expect(again.data.user.mustChangePassword).toBe(true);
    expect(ok(await t.gql(RESET, { id: u.id, key: 'rp-1' }, managerDt), 'resetPassword').password).toBeNull();
  });
});

describe('tokens', () => {
  const CREATE_TOKEN = `mutation ($name: String!, $expiresAt: DateTime) {
    createApiToken(name: $name, expiresAt: $expiresAt) {
      __typename
      ... on MutationCreateApiTokenSuccess { data { token apiToken { id expiresAt } } }
      ... on ValidationError { fieldErrors { path message } }
    } }`;

  it('caps API token lifetime at API_TOKEN_MAX_DAYS (365), also the default', async () => {
    const created = ok(await t.gql(CREATE_TOKEN, { name: 'sync' }, admin), 'createApiToken');
    const days = (new Date(created.apiToken.expiresAt).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364.9);
    expect(days).toBeLessThanOrEqual(365);
    const before = await checksum(t, TABLES, IGNORE);
    const far = await t.gql(CREATE_TOKEN, { name: 'forever', expiresAt: '9999-12-31T00:00:00Z' }, admin);
    expect(far.data?.createApiToken).toEqual({
      __typename: 'ValidationError',
      fieldErrors: [
        { path: ['expiresAt'], message: 'must be at most 365 days from now (API_TOKEN_MAX_DAYS)' },
      ],
    });
    expect(await checksum(t, TABLES, IGNORE)).toEqual(before);
  });

  it('lists tokens to admins only, with their user and last use', async () => {
    const created = ok(await t.gql(CREATE_TOKEN, { name: 'listed' }, admin), 'createApiToken');
    await t.gql('{ me { id } }', {}, created.token);
    const LIST =
      '{ apiTokens(kind: API, first: 50) { edges { node { id name lastUsedAt user { email } } } } }';
    const row = await until(async () => {
      const edges = (await t.gql(LIST, {}, admin)).data?.apiTokens.edges;
      const node = edges.find((e: { node: { id: string } }) => e.node.id === created.apiToken.id)?.node;
      return node?.lastUsedAt ? node : undefined;
    });
    expect(row).toMatchObject({ name: 'listed', user: { email: 'admin@example.com' } });
    expect((await t.gql(LIST, {}, managerDt)).data?.apiTokens.edges).toEqual([]);
  });

  it('writes last_used_at at most once a minute, without a version or a change-log row', async () => {
    const token = await login(t, 'clerk.hb@example.com');
    const q =
      'SELECT id, version, last_used_at FROM api_tokens WHERE token_hash = encode(sha256($1::bytea), $2)';
    const row = async () => (await t.db.pool.query(q, [token, 'hex'])).rows[0];
    const created = await row();
    const logged = async () =>
      (await t.db.pool.query('SELECT count(*)::int AS n FROM change_log WHERE row_id = $1', [created.id]))
        .rows[0].n;
    const entries = await logged();
    await t.gql('{ me { id } }', {}, token);
    const first = await until(async () => ((await row()).last_used_at ? row() : undefined));
    expect(first.version).toBe(created.version);
    for (let i = 0; i < 5; i++) await t.gql('{ me { id } }', {}, token);
    await new Promise((r) => setTimeout(r, 200));
    expect((await row()).last_used_at).toEqual(first.last_used_at);
    expect(await logged()).toBe(entries);

    // The throttle itself, with a shorter period: a second touch within it writes nothing.
    const recorder = new LastUsedRecorder(t.app.services.db, testLog, 300);
    await t.db.pool.query('UPDATE api_tokens SET last_used_at = NULL WHERE id = $1', [created.id]);
    recorder.touch(created.id);
    const a = await until(async () => (await row()).last_used_at ?? undefined);
    recorder.touch(created.id);
    await new Promise((r) => setTimeout(r, 150));
    expect((await row()).last_used_at).toEqual(a);
    await new Promise((r) => setTimeout(r, 300));
    recorder.touch(created.id);
    await until(async () => ((await row()).last_used_at > a ? true : undefined));
    expect((await row()).version).toBe(created.version);
    expect(await logged()).toBe(entries);
  });
});

describe('secrets and hashing', () => {
  it('never writes a password hash into the change log or the idempotency store', async () => {
    const u = await newClerk();
    const token = await tokenOf(u.email, u.password);
    ok(
      await t.gql(CHANGE_PASSWORD, { current: u.password, next: 'yet another one 2' }, token),
      'changePassword',
    );
    const { rows } = await t.db.pool.query(
      "SELECT data::text AS d, changed FROM change_log WHERE tbl = 'users' AND row_id = $1 ORDER BY xid, id",
      [u.id],
    );
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const r of rows) {
      expect(r.d).not.toMatch(/password_hash|scrypt\$/);
      expect(r.changed ?? []).not.toContain('password_hash');
    }
    expect(rows.at(-1).changed).toEqual(['password_changed_at']);
    const keys = await t.db.pool.query('SELECT response::text AS r FROM idempotency_keys');
    for (const k of keys.rows) expect(k.r).not.toMatch(/scrypt\$|passwordHash/);
  });

  it('gives every user their own salt and re-hashes at sign-in when the cost rises, unversioned', async () => {
    const { rows: hashes } = await t.db.pool.query('SELECT password_hash AS h FROM users');
    expect(new Set(hashes.map((r) => r.h.split('$')[4])).size).toBe(hashes.length);
    const q = "SELECT password_hash AS h, version FROM users WHERE email = 'manager.ng@example.com'";
    const before = (await t.db.pool.query(q)).rows[0];
    expect(before.h).toMatch(/^scrypt\$1024\$8\$1\$/);
    const logged = async () =>
      (await t.db.pool.query("SELECT count(*)::int AS n FROM change_log WHERE tbl = 'users'")).rows[0].n;
    const entries = await logged();
    configurePasswordHashing({ cost: TEST_HASH_COST + 1 });
    try {
      await tokenOf('manager.ng@example.com', PASSWORD);
    } finally {
      configurePasswordHashing({ cost: TEST_HASH_COST });
    }
    const after = (await t.db.pool.query(q)).rows[0];
    expect(after.h).toMatch(/^scrypt\$2048\$8\$1\$/);
    expect(after.version).toBe(before.version);
    expect(await logged()).toBe(entries);
    await tokenOf('manager.ng@example.com', PASSWORD);
  });
});

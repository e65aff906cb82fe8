/**
 * Accounts in the browser: Sign out ends the session on the server; an admin creates a user on
 * the Users page (one-time password shown once) while a second admin screen updates live; the new
 * user must choose a password before anything else; My account changes the password and signs
 * out another session; a reset signs the user out; a manager sees only the clerks of their
 * branches; an admin creates, uses and revokes an API token; GraphiQL opens with the sign-in tab.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, eventually, shot, startWebHarness, type WebHarness } from './helpers/browser.ts';

describeBrowser('browser: accounts, users and tokens', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const post = async (query: string, variables: Record<string, unknown> = {}, token?: string) =>
    (await (
      await fetch(`${h.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      })
    ).json()) as { data?: any; errors?: { extensions?: { code?: string } }[] };
  const alive = async (token: string) => !(await post('{ me { id } }', {}, token)).errors;
  const tokenOf = (page: Page) =>
    page.evaluate(() => JSON.parse(localStorage.getItem('branchline.session') ?? '{}').token as string);

  async function signInWithForm(email: string, password: string): Promise<Page> {
    const page = await (await h.context()).newPage();
    await page.goto('/');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    return page;
  }

  let newUserPassword = '';

  it('Sign out ends the session on the server', async () => {
    const page = await signInWithForm('clerk.hb@example.com', 'branchline');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const token = await tokenOf(page);
    expect(await alive(token)).toBe(true);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await alive(token)).toBe(false);
  });

  it('creates a user on the Users page, live on a second admin screen; the user must choose a password', async () => {
    const [a, b] = await Promise.all([
      h.signedIn('admin@example.com', '#/users'),
      h.signedIn('admin@example.com', '#/users'),
    ]);
    await b.getByRole('cell', { name: 'clerk.dt@example.com' }).waitFor();
    await a.getByRole('button', { name: 'New user' }).click();
    const form = a.getByRole('form', { name: 'New user' });
    await form.getByLabel('Name').fill('Dana Till');
    await form.getByLabel('Email').fill('dana.till@example.com');
    await form.getByRole('button', { name: 'Create' }).click();
    const secret = a.getByTestId('one-time-secret');
    await secret.waitFor();
    newUserPassword = (await secret.innerText()).trim();
    expect(newUserPassword).toMatch(/^[A-Za-z2-9]{16}$/);
    await shot(a, 'users-created');
    // The other admin screen shows the new user without a reload.
    const rowB = b.locator('[data-testid="user-row"][data-email="dana.till@example.com"]');
    await rowB.waitFor({ timeout: 10_000 });
    expect(await rowB.innerText()).toMatch(/Dana Till[\s\S]*clerk[\s\S]*DT[\s\S]*must change password/);
    await a.getByRole('button', { name: 'Done' }).click();

    // Edit role and branches on A: B follows.
    await a.getByRole('button', { name: 'Edit Dana Till' }).click();
    const edit = a.getByRole('form', { name: 'Edit Dana Till' });
    await edit.getByLabel('Name').fill('Dana Floor');
    await edit.getByRole('checkbox', { name: 'HB' }).check();
    await edit.getByRole('button', { name: 'Save' }).click();
    await eventually(
      async () => expect(await rowB.innerText()).toMatch(/Dana Floor[\s\S]*DT, HB|Dana Floor[\s\S]*HB, DT/),
      10_000,
    );

    // The new user signs in with the one-time password and must choose their own first.
    const user = await signInWithForm('dana.till@example.com', newUserPassword);
    await user.getByRole('heading', { name: 'Choose your password' }).waitFor();
    await shot(user, 'force-password-change');
    await user.getByLabel('Password you were given').fill(newUserPassword);
    await user.getByLabel('New password', { exact: true }).fill('short');
    await user.getByLabel('Repeat new password').fill('short');
    await user.getByRole('button', { name: 'Save and continue' }).click();
    expect(await user.getByRole('alert').innerText()).toContain('at least 10 characters');
    await user.getByLabel('New password', { exact: true }).fill('dana has a long one');
    await user.getByLabel('Repeat new password').fill('dana has a long one');
    await user.getByRole('button', { name: 'Save and continue' }).click();
    await user.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
    await user.getByRole('button', { name: 'Sign out' }).waitFor();
    await eventually(async () => expect(await rowB.innerText()).toMatch(/active/), 10_000);
    expect(await rowB.innerText()).not.toMatch(/must change/);

    // Deactivated on B: A shows it, and the user's session is over.
    const token = await tokenOf(user);
    b.once('dialog', (d) => void d.accept());
    await b.getByRole('button', { name: 'Deactivate Dana Floor' }).click();
    const rowA = a.locator('[data-testid="user-row"][data-email="dana.till@example.com"]');
    await eventually(async () => expect(await rowA.innerText()).toMatch(/inactive/), 10_000);
    expect(await alive(token)).toBe(false);
    await b.getByRole('button', { name: 'Activate Dana Floor' }).click();
    await eventually(async () => expect(await rowA.innerText()).not.toMatch(/inactive/), 10_000);
  });

  it('My account: changes the password and signs out another session; a reset signs the user out', async () => {
    const one = await signInWithForm('dana.till@example.com', 'dana has a long one');
    await one.getByRole('button', { name: 'Sign out' }).waitFor();
    const two = await signInWithForm('dana.till@example.com', 'dana has a long one');
    await two.getByRole('button', { name: 'Sign out' }).waitFor();
    const twoToken = await tokenOf(two);
    await one.getByRole('link', { name: 'My account' }).click();
    await one.getByRole('heading', { name: 'My sessions' }).waitFor();
    await eventually(async () => expect(await one.getByTestId('session-row').count()).toBe(2));
    await shot(one, 'my-account');
    await one.getByRole('button', { name: /^Sign out .* from / }).click();
    await eventually(async () => expect(await one.getByTestId('session-row').count()).toBe(1));
    expect(await alive(twoToken)).toBe(false);

    await one.getByLabel('Current password').fill('dana has a long one');
    await one.getByLabel('New password', { exact: true }).fill('dana changed it');
    await one.getByLabel('Repeat new password').fill('dana changed it');
    await one.getByRole('button', { name: 'Change password' }).click();
    await one.getByText('Password changed. Your other sessions were signed out.').waitFor();
    const oneToken = await tokenOf(one);
    expect(await alive(oneToken)).toBe(true);
    expect(
      (
        await post('mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { __typename } }', {
          e: 'dana.till@example.com',
          p: 'dana changed it',
        })
      ).data?.login.__typename,
    ).toBe('MutationLoginSuccess');

    // An admin resets the password: the user's screen goes back to sign-in.
    const admin = await h.signedIn('admin@example.com', '#/users');
    admin.once('dialog', (d) => void d.accept());
    await admin.getByRole('button', { name: 'Reset password of Dana Floor' }).click();
    const secret = (await admin.getByTestId('one-time-secret').innerText()).trim();
    expect(secret).toMatch(/^[A-Za-z2-9]{16}$/);
    expect(await alive(oneToken)).toBe(false);
    // The feed (or, at the latest, the next request) meets UNAUTHENTICATED.
    await one.evaluate(() => {
      location.hash = '#/orders';
    });
    await one.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 15_000 });
  });

  it('shows a manager only the clerks of their branches, with the clerk role only', async () => {
    const page = await h.signedIn('manager.ng@example.com', '#/users');
    await page.getByRole('cell', { name: 'clerk.ng@example.com' }).waitFor();
    const emails = await page
      .getByTestId('user-row')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-email')));
    expect(emails).toEqual(['clerk.ng@example.com']);
    await page.getByRole('button', { name: 'New user' }).click();
    const roles = await page
      .getByRole('form', { name: 'New user' })
      .getByLabel('Role')
      .locator('option')
      .allInnerTexts();
    expect(roles).toEqual(['clerk']);
    expect(await page.getByRole('link', { name: 'API tokens' }).count()).toBe(0);
  });

  it('API tokens: an admin creates one (shown once), it works and shows its last use, then is revoked', async () => {
    const page = await h.signedIn('admin@example.com', '#/tokens');
    const form = page.getByRole('form', { name: 'New API token' });
    await form.getByLabel('Name').fill('Accounting sync');
    await form.getByLabel('Valid for (days)').fill('30');
    await form.getByRole('button', { name: 'Create token' }).click();
    const token = (await page.getByTestId('one-time-secret').innerText()).trim();
    expect(token).toMatch(/^bl_/);
    await shot(page, 'api-tokens');
    const row = page.locator('[data-testid="token-row"][data-name="Accounting sync"]');
    await row.waitFor();
    expect(await row.innerText()).toMatch(/admin@example\.com[\s\S]*never[\s\S]*active/);
    const expires = await post(
      '{ apiTokens(kind: API) { edges { node { name expiresAt } } } }',
      {},
      await tokenOf(page),
    );
    const mine = expires.data.apiTokens.edges.find((e: any) => e.node.name === 'Accounting sync').node;
    expect(Math.round((new Date(mine.expiresAt).getTime() - Date.now()) / 86_400_000)).toBe(30);
    expect(await alive(token)).toBe(true);
    await page.reload();
    await eventually(async () => expect(await row.innerText()).not.toMatch(/never/), 10_000);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Revoke Accounting sync' }).click();
    await eventually(async () => expect(await row.innerText()).toMatch(/revoked/), 10_000);
    expect(await alive(token)).toBe(false);
  });

  it('GraphiQL opens with a tab that explains signing in and the Headers tab', async () => {
    const page = await (await h.context()).newPage();
    await page.goto('/graphql');
    const editor = page.locator('.graphiql-query-editor');
    await editor.waitFor({ timeout: 30_000 });
    await eventually(
      async () => expect(await editor.innerText()).toMatch(/Headers\stab[\s\S]*mutation\sSignIn/),
      15_000,
    );
    expect(await page.getByText('LowStock').count()).toBeGreaterThan(0);
    expect(await page.getByText('Changes').count()).toBeGreaterThan(0);
    await shot(page, 'graphiql-welcome');
    expect(h.consoleErrors).toEqual([]);
  });
});

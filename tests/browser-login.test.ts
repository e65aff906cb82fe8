/**
 * The sign-in view when the server throttles sign-in: TooManyAttempts shows its message with the
 * wait, the button counts down and stays disabled, and afterwards the right password signs in.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, shot, startWebHarness, type WebHarness } from './helpers/browser.ts';

describeBrowser('browser: throttled sign-in', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('shows TooManyAttempts with the wait, then lets the right password in', async () => {
    const context = await h.context();
    const page = await context.newPage();
    await page.goto('/');
    await page.getByLabel('Email').fill('clerk.ng@example.com');
    await page.getByLabel('Password').fill('not-the-password');
    const alert = page.getByRole('alert');
    // Wrong passwords until the server throttles (5 failures by default; each later one doubles
    // the wait, so a slow machine gets there too).
    for (let i = 0; i < 12; i++) {
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/graphql')),
        page.getByRole('button', { name: 'Sign in' }).click(),
      ]);
      const answer = (await response.json()) as { data: { login: { __typename: string } } };
      if (answer.data.login.__typename === 'TooManyAttempts') break;
      expect(answer.data.login.__typename).toBe('AuthenticationFailed');
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
    }
    expect(await alert.innerText()).toMatch(/^Too many failed sign-ins; try again in \d+ seconds?$/);
    const countdown = page.getByRole('button', { name: /^Try again in \d+ s$/ });
    await countdown.waitFor();
    expect(await countdown.isDisabled()).toBe(true);
    await shot(page, 'login-throttled');

    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 20_000 });
    await page.getByLabel('Password').fill('branchline');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(h.consoleErrors).toEqual([]);
  });
});

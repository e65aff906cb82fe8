/**
 * The Sync status page for admins: live updates flowing, feed lag, the last change, conflicts,
 * screens per branch (a clerk's open app counted under its branch); no link to it for a clerk.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, shot, startWebHarness, type WebHarness } from './helpers/browser.ts';

describeBrowser('browser: sync status', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('shows admins the figures in words, and counts a clerk screen under its branch', async () => {
    const clerk = await h.signedIn('clerk.dt@example.com', '#/stock');
    await clerk.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(await clerk.getByRole('link', { name: 'Sync status' }).count()).toBe(0);

    const admin = await h.signedIn('admin@example.com', '#/stock');
    await admin.getByRole('link', { name: 'Sync status' }).click();
    await admin.getByRole('heading', { name: 'Sync status', level: 1 }).waitFor();
    const figures = admin.locator('dl[aria-label="Sync status"]');
    await expect.poll(() => figures.getByText('flowing').count(), { timeout: 15_000 }).toBe(1);
    expect(await figures.innerText()).toMatch(/Feed lag\s+none: every committed change has been sent/);
    const dt = admin.getByRole('row').filter({ hasText: 'DT ' });
    // The clerk's app and its live subscription (refreshed every 5 s).
    await expect
      .poll(async () => (await dt.innerText()).trim().endsWith('1'), { timeout: 15_000 })
      .toBe(true);
    await shot(admin, 'sync-status');
    expect(h.consoleErrors).toEqual([]);
  }, 60_000);
});

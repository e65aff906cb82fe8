/**
 * The Backups view for admins: a warning on every view while no good backup is recorded (or the
 * last good one is over 2 days old), the last backup's time, size and result, recent runs; none of
 * it for a clerk.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordBackupRun } from '../src/backup/automatic.ts';
import { describeBrowser, shot, startWebHarness, type WebHarness } from './helpers/browser.ts';

const run = (over: Partial<Parameters<typeof recordBackupRun>[1]>) => ({
  kind: 'daily' as const,
  file: '/srv/branchline/backups/branchline-20261128-020000-daily.backup.gz',
  startedAt: new Date(Date.now() - 60_000),
  finishedAt: new Date(Date.now() - 55_000),
  ok: true,
  sizeBytes: 2_621_440,
  tables: 19,
  rows: 15_000,
  schemaVersion: '20261128120000_backup_runs',
  error: null,
  ...over,
});

describeBrowser('browser: backups', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('warns admins until a good backup is recorded, and shows the last one', async () => {
    const admin = await h.signedIn('admin@example.com', '#/stock');
    const warning = admin.getByRole('alert').filter({ hasText: 'No good backup has been recorded' });
    await warning.waitFor({ timeout: 15_000 });
    await warning.getByRole('link', { name: 'Backups' }).click();
    await admin.getByRole('heading', { name: 'Backups' }).waitFor();
    await expect.poll(() => admin.getByText('No backup has been recorded yet.').count()).toBe(1);

    await recordBackupRun(
      h.db.pool,
      run({
        startedAt: new Date(Date.now() - 3 * 86_400_000),
        finishedAt: new Date(Date.now() - 3 * 86_400_000),
      }),
    );
    await admin.reload();
    await admin
      .getByRole('alert')
      .filter({ hasText: /The last good backup is 3 days ago/ })
      .waitFor({ timeout: 15_000 });

    await recordBackupRun(h.db.pool, run({}));
    await admin.reload();
    const last = admin.getByRole('definition');
    await expect
      .poll(() => last.allInnerTexts(), { timeout: 15_000 })
      .toEqual([
        expect.stringMatching(/less than an hour ago\), daily$/),
        'good (read back and checked)',
        '2.5 MB',
        '/srv/branchline/backups/branchline-20261128-020000-daily.backup.gz',
      ]);
    expect(await admin.getByRole('alert').filter({ hasText: 'backup' }).count()).toBe(0);
    await recordBackupRun(
      h.db.pool,
      run({
        ok: false,
        sizeBytes: null,
        error: 'ENOSPC: no space left on device',
        startedAt: new Date(),
        finishedAt: new Date(),
      }),
    );
    await admin.reload();
    await admin.getByText('failed: ENOSPC: no space left on device').first().waitFor({ timeout: 15_000 });
    await admin.getByText(/less than an hour ago\), 2\.5 MB$/).waitFor();
    await expect.poll(() => admin.locator('table.data tbody tr').count()).toBe(3);
    await shot(admin, 'backups');

    const clerk = await h.signedIn('clerk.dt@example.com', '#/stock');
    await clerk.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(await clerk.getByRole('link', { name: 'Backups' }).count()).toBe(0);
    expect(await clerk.getByText('No good backup').count()).toBe(0);
    expect(h.consoleErrors).toEqual([]);
  });
});

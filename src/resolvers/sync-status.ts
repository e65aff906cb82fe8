/**
 * The admins' sync status: how this server process and its change feed are doing, in words the
 * Sync status page shows (connected screens per branch, feed lag, last change, conflicts today,
 * last backup). The same sources as /metrics (src/ops/metrics.ts), without the token.
 *
 * Not guaranteed: figures of other server processes. Screens and conflicts are this process's own
 * (with several processes behind a load balancer, each answers for its own screens).
 */
import type { Context } from '../context.ts';
import { conflictsSinceMidnight } from '../ops/counters.ts';
import { readDbFigures } from '../ops/metrics.ts';
import { feedChecks } from '../ops/ready.ts';
import { requireViewer } from './viewer.ts';

export interface BranchScreens {
  code: string;
  name: string;
  screens: number;
}

export interface SyncStatusView {
  checkedAt: Date;
  feedConnected: boolean;
  feedDetail: string;
  lagChanges: number | null;
  lagSeconds: number | null;
  lastChangeAt: Date | null;
  heldBackRows: number | null;
  oldestTransactionSeconds: number | null;
  conflictsToday: number;
  subscriptions: number;
  screens: number;
  adminScreens: number;
  branches: BranchScreens[];
  lastBackupAt: Date | null;
  lastBackupOk: boolean | null;
  lastSuccessfulBackupAt: Date | null;
}

/** Null for anybody but an admin. */
export async function syncStatus(ctx: Context): Promise<SyncStatusView | null> {
  const viewer = requireViewer(ctx);
  if (viewer.role !== 'ADMIN') return null;
  const [figures, branches] = await Promise.all([
    readDbFigures(ctx.db.pool, ctx.feed),
    ctx.db.pool.query<{ id: string; code: string; name: string }>(
      'SELECT id::text AS id, code, name FROM branches ORDER BY code',
    ),
  ]);
  const screens = ctx.feed.grants.screens();
  const perBranch = new Map<string, number>();
  let adminScreens = 0;
  for (const s of screens) {
    if (s.role === 'ADMIN') adminScreens++;
    else for (const b of s.branchIds) perBranch.set(b, (perBranch.get(b) ?? 0) + 1);
  }
  const checks = feedChecks(ctx.feed);
  return {
    checkedAt: new Date(),
    feedConnected: checks.every((c) => c.ok),
    feedDetail: checks.map((c) => `${c.name}: ${c.detail}`).join('; '),
    lagChanges: figures.lagChanges,
    lagSeconds: figures.lagSeconds,
    lastChangeAt: figures.lastChangeAt,
    heldBackRows: figures.heldRows,
    oldestTransactionSeconds: figures.oldestTransactionSeconds,
    conflictsToday: conflictsSinceMidnight(),
    subscriptions: ctx.feed.active,
    screens: screens.length,
    adminScreens,
    branches: branches.rows.map((b) => ({ code: b.code, name: b.name, screens: perBranch.get(b.id) ?? 0 })),
    lastBackupAt: figures.lastBackupAt,
    lastBackupOk: figures.lastBackupOk,
    lastSuccessfulBackupAt: figures.lastSuccessfulBackupAt,
  };
}

import { builder } from '../builder.ts';
import { type BranchScreens, type SyncStatusView, syncStatus } from '../resolvers/sync-status.ts';

const BranchScreensRef = builder.objectRef<BranchScreens>('BranchScreens').implement({
  fields: (t) => ({
    code: t.exposeString('code'),
    name: t.exposeString('name'),
    screens: t.exposeInt('screens', {
      description: 'Signed-in screens of that branch with live updates open.',
    }),
  }),
});

const SyncStatusRef = builder.objectRef<SyncStatusView>('SyncStatus').implement({
  description:
    'How this server process and its change feed are doing (admins; the figures of /metrics in words).',
  fields: (t) => ({
    checkedAt: t.expose('checkedAt', { type: 'DateTime' }),
    feedConnected: t.exposeBoolean('feedConnected', {
      description: 'Listener connected and reader caught up (the feed part of /ready).',
    }),
    feedDetail: t.exposeString('feedDetail'),
    lagChanges: t.exposeInt('lagChanges', {
      nullable: true,
      description: 'Committed changes not delivered yet by this process.',
    }),
    lagSeconds: t.exposeFloat('lagSeconds', {
      nullable: true,
      description: 'Age of the oldest committed change not delivered yet (0: none).',
    }),
    lastChangeAt: t.expose('lastChangeAt', { type: 'DateTime', nullable: true }),
    heldBackRows: t.exposeInt('heldBackRows', {
      nullable: true,
      description: 'Committed changes waiting behind an older open transaction.',
    }),
    oldestTransactionSeconds: t.exposeFloat('oldestTransactionSeconds', { nullable: true }),
    conflictsToday: t.exposeInt('conflictsToday', {
      description: 'Edits refused with VersionConflict since midnight.',
    }),
    subscriptions: t.exposeInt('subscriptions'),
    screens: t.exposeInt('screens', { description: 'Signed-in sessions with live updates open.' }),
    adminScreens: t.exposeInt('adminScreens'),
    branches: t.field({ type: [BranchScreensRef], resolve: (s) => s.branches }),
    lastBackupAt: t.expose('lastBackupAt', { type: 'DateTime', nullable: true }),
    lastBackupOk: t.exposeBoolean('lastBackupOk', { nullable: true }),
    lastSuccessfulBackupAt: t.expose('lastSuccessfulBackupAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryField('syncStatus', (t) =>
  t.field({
    type: SyncStatusRef,
    nullable: true,
    description:
      'Admins: connected screens per branch, feed lag, last change, conflicts today, last backup; null for anybody else.',
    resolve: (_root, _args, ctx) => syncStatus(ctx),
  }),
);

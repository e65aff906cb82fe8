import { builder } from '../builder.ts';
import { type BackupRunView, type BackupStatusView, backupStatus } from '../resolvers/backup.ts';

const BackupRunRef = builder.objectRef<BackupRunView>('BackupRun').implement({
  description: 'A backup written by the server (daily, before a migration) or by npm run backup.',
  fields: (t) => ({
    kind: t.exposeString('kind', { description: 'daily, pre-migration or manual.' }),
    file: t.exposeString('file', { description: 'The file on the machine that wrote it.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime' }),
    ok: t.exposeBoolean('ok', { description: 'Written, read back and every checksum matched.' }),
    sizeBytes: t.exposeFloat('sizeBytes', { nullable: true, description: 'Size of the compressed file.' }),
    tables: t.exposeInt('tables', { nullable: true }),
    rows: t.exposeFloat('rows', { nullable: true }),
    schemaVersion: t.exposeString('schemaVersion', {
      nullable: true,
      description: 'The last migration in it.',
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed.' }),
  }),
});

const BackupStatusRef = builder.objectRef<BackupStatusView>('BackupStatus').implement({
  fields: (t) => ({
    lastRun: t.field({ type: BackupRunRef, nullable: true, resolve: (s) => s.lastRun }),
    lastSuccess: t.field({ type: BackupRunRef, nullable: true, resolve: (s) => s.lastSuccess }),
    stale: t.exposeBoolean('stale', {
      description: 'No good backup, or the last good one is over 2 days old.',
    }),
    recent: t.field({ type: [BackupRunRef], description: 'Newest first.', resolve: (s) => s.recent }),
  }),
});

builder.queryField('backupStatus', (t) =>
  t.field({
    type: BackupStatusRef,
    nullable: true,
    description:
      'Admins: the recorded backups and whether the last good one is too old; null for anybody else.',
    args: { limit: t.arg.int({ defaultValue: 10, description: 'Recent runs to list (1-50).' }) },
    resolve: (_root, args, ctx) => backupStatus(ctx, args.limit ?? 10),
  }),
);

/**
 * The change feed in GraphQL: `changes` (every change the viewer may see, resumable from a
 * cursor) and `dashboard` (live figures of a branch). Both run on the process's one change-log
 * reader; over graphql-ws, equal subscriptions are grouped (src/listeners/fanout.ts).
 */
import { createGraphQLError } from 'graphql-yoga';
import { builder } from '../builder.ts';
import { accessScope } from '../listeners/access.ts';
import type { ChangeRow } from '../listeners/reader.ts';
import { feedDeliveries } from '../ops/counters.ts';
import type { DashboardFigures } from '../resolvers/dashboard.ts';
import { id } from '../resolvers/validate.ts';

/** Root fields whose graphql-ws subscriptions are grouped (executed once per group and event). */
export const GROUPED_SUBSCRIPTIONS = new Set([
  'changes',
  'dashboard',
  'productChanged',
  'stockLevels',
  'orders',
]);

const OPS = { I: 'INSERT', U: 'UPDATE', D: 'DELETE' } as const;

/**
 * A subscription's id argument as a UUID, or the subscription is refused at its start with
 * BAD_USER_INPUT (a malformed id would otherwise open a subscription that never delivers, or a
 * dashboard whose query fails on every recomputation). Lower-cased, as the database writes them.
 */
export function uuidArg(name: string, value: string | number): string {
  const s = String(value).toLowerCase();
  if (!id.safeParse(s).success)
    throw createGraphQLError(`${name} must be a UUID`, { extensions: { code: 'BAD_USER_INPUT' } });
  return s;
}

// Named apart from history's ChangeOp (src/schema/history.ts) so the two files stay independent.
const ChangeKind = builder.enumType('ChangeKind', { values: ['INSERT', 'UPDATE', 'DELETE'] as const });

export const ChangeRef = builder.objectRef<ChangeRow>('Change').implement({
  description:
    'One committed change of one row. Changes come in one global order; `cursor` resumes right after this one.',
  fields: (t) => ({
    cursor: t.string({
      description: 'Pass as `after` to continue after this change (on any server instance).',
      resolve: (row, _args, ctx) => ctx.feed.cursorOf(row),
    }),
    table: t.string({ resolve: (row) => row.tbl }),
    op: t.field({ type: ChangeKind, resolve: (row) => OPS[row.op] }),
    rowId: t.id({ resolve: (row) => row.rowId }),
    version: t.int({
      nullable: true,
      description: 'The row version after the change.',
      resolve: (row) => row.version,
    }),
    changedFields: t.stringList({
      nullable: true,
      description: 'Columns that changed (updates only).',
      resolve: (row) => row.changed,
    }),
    actor: t.string({ nullable: true, resolve: (row) => row.actor }),
    branchId: t.id({
      nullable: true,
      description: 'The branch of a branch-scoped row.',
      resolve: (row) => row.branchId,
    }),
    at: t.field({
      type: 'DateTime',
      description: 'Start of the writing transaction.',
      resolve: (row) => row.at,
    }),
    data: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The row after the change (before it, for a delete), column names as in the database.',
      resolve: (row, _args, ctx) => (ctx.viewer ? accessScope(ctx.viewer).data(row) : null),
    }),
  }),
});

const DashboardRef = builder.objectRef<DashboardFigures>('Dashboard').implement({
  description: 'Live figures of one branch, recomputed at most every 250 ms while changes arrive.',
  fields: (t) => ({
    branchId: t.exposeID('branchId'),
    salesToday: t.field({ type: 'Decimal', resolve: (d) => d.salesToday }),
    orderCount: t.exposeInt('orderCount'),
    stockValue: t.field({ type: 'Decimal', resolve: (d) => d.stockValue }),
    lowStockCount: t.exposeInt('lowStockCount'),
    at: t.field({ type: 'DateTime', resolve: (d) => d.at }),
  }),
});

interface FeedStatus {
  cursor: string | null;
  subscriptions: number;
  opened: number;
  groups: number;
  listenerConnected: boolean;
}

const FeedStatusRef = builder.objectRef<FeedStatus>('FeedStatus').implement({
  description: "This server's change feed: where it is and how many subscriptions it serves.",
  fields: (t) => ({
    cursor: t.exposeString('cursor', {
      nullable: true,
      description: 'The live end: a subscription from here misses nothing committed later.',
    }),
    subscriptions: t.exposeInt('subscriptions', { description: 'Subscriptions registered and open now.' }),
    opened: t.exposeInt('opened', {
      description:
        'Subscriptions registered since start: once it moves past a value read before subscribing, the new subscription is live (readiness).',
    }),
    groups: t.exposeInt('groups', {
      description: 'graphql-ws subscription groups (one execution per event each).',
    }),
    listenerConnected: t.exposeBoolean('listenerConnected'),
  }),
});

builder.queryField('feedStatus', (t) =>
  t.field({
    type: FeedStatusRef,
    description: "The change feed's position and subscription counts on this server.",
    resolve: (_root, _args, ctx) => {
      const feed = ctx.feed;
      feed.requireViewer(ctx.viewer);
      const position = feed.hub.position;
      return {
        cursor: position ? feed.cursorOf(position) : null,
        subscriptions: feed.active,
        opened: feed.opened,
        groups: feed.fanout?.size ?? 0,
        listenerConnected: feed.wakeup.status().connected,
      };
    },
  }),
);

builder.subscriptionType({});

builder.subscriptionFields((t) => ({
  changes: t.field({
    type: ChangeRef,
    description:
      'Every change the viewer may see, in the global order. Without `after` it starts at the live end; with ' +
      'it, it first catches up, then continues live, each change exactly once. Errors: CURSOR_EXPIRED (reload), ' +
      'SUBSCRIBER_TOO_SLOW (resume from the last cursor), UNAUTHENTICATED.',
    args: {
      after: t.arg.string({ description: 'A cursor from a change or from a list query (`feedCursor`).' }),
      tables: t.arg.stringList({ description: 'Only these tables (e.g. ["products", "stock_levels"]).' }),
      branchId: t.arg.id({
        description: 'Only rows of this branch, plus shared rows (products, customers).',
      }),
    },
    subscribe: (_root, args, ctx) =>
      ctx.feed.changes(ctx, {
        ...args,
        branchId: args.branchId == null ? args.branchId : uuidArg('branchId', args.branchId),
      }),
    resolve: (row, _args, ctx) => {
      // One subscriber's event (SSE, ungrouped graphql-ws); a group counts its members in fanout.ts.
      if (!(ctx as { feedGroup?: boolean }).feedGroup) feedDeliveries.inc();
      return row;
    },
  }),
  dashboard: t.field({
    type: DashboardRef,
    description: 'Live figures of a branch: the current ones first, then each update.',
    args: { branchId: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => ctx.feed.dashboard(ctx, uuidArg('branchId', args.branchId)),
    resolve: (figures) => figures,
  }),
}));

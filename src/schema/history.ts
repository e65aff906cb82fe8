import { builder } from '../builder.ts';
import { HISTORY_LIMIT, HISTORY_TABLES, type HistoryEntry, history } from '../resolvers/history.ts';
import { asQueryResult } from './connection.ts';

const HistoryTableEnum = builder.enumType('HistoryTable', {
  values: Object.keys(HISTORY_TABLES) as (keyof typeof HISTORY_TABLES)[],
});
const ChangeOpEnum = builder.enumType('ChangeOp', { values: ['INSERT', 'UPDATE', 'DELETE'] as const });

const HistoryEntryRef = builder.objectRef<HistoryEntry>('HistoryEntry').implement({
  description: 'One change of a record, from the change log.',
  fields: (t) => ({
    op: t.field({ type: ChangeOpEnum, resolve: (e) => e.op }),
    version: t.exposeInt('version', { nullable: true, description: 'The version after the change.' }),
    changedFields: t.exposeStringList('changedFields', { description: 'Empty for INSERT and DELETE.' }),
    actor: t.exposeString('actor', {
      nullable: true,
      description: "The user's email, or db:<role> for writes outside the API.",
    }),
    at: t.expose('at', { type: 'DateTime' }),
    notes: t.exposeStringList('notes', {
      description:
        'Stock levels: the notes of the movements behind this change (a receipt note, an adjustment reason).',
    }),
    values: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The row after the change (null for DELETE).',
      resolve: (e) => e.values,
    }),
  }),
});

builder.queryField('history', (t) =>
  t.field({
    type: [HistoryEntryRef],
    description: `Every change of one record, oldest first (the newest ${HISTORY_LIMIT}). Empty for a record the viewer may not see.`,
    args: { table: t.arg({ type: HistoryTableEnum, required: true }), id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) =>
      asQueryResult(() => history({ table: args.table, id: String(args.id) }, ctx)),
  }),
);

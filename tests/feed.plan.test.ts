/**
 * The planned execution of grouped subscriptions (src/listeners/plan.ts) gives exactly what
 * graphql's execute gives, byte for byte, on the real schema and resolvers; documents it does not
 * take and events it cannot serve are left to graphql (null).
 */
import { expect, it } from 'vitest';
import { graphql } from '../src/listeners/graphql.ts';
import { planOf } from '../src/listeners/plan.ts';
import type { ChangeRow } from '../src/listeners/reader.ts';
import { schema } from '../src/schema/index.ts';

const viewer = {
  userId: 'u1',
  email: 'a@example.com',
  name: 'A',
  role: 'ADMIN',
  branchIds: [],
  tokenId: 't1',
};
const context = {
  viewer,
  feedGroup: true,
  feed: { cursorOf: (r: ChangeRow) => `e:${r.xid}:${r.id}:${r.at.getTime()}` },
};

const row = (over: Partial<ChangeRow> = {}): ChangeRow => ({
  xid: '901',
  id: '77',
  tbl: 'customers',
  op: 'U',
  rowId: '0b0e8e4e-5f8f-4a55-9d3e-6c2f1f8b9a10',
  version: 3,
  data: { id: '0b0e8e4e-5f8f-4a55-9d3e-6c2f1f8b9a10', name: 'Ann "the" Bee', notes: 'é\n\u2028' },
  changed: ['name', 'notes'],
  actor: 'a@example.com',
  branchId: null,
  at: new Date('2026-11-25T10:00:00.123Z'),
  ...over,
});

function both(query: string, event: unknown, variableValues: Record<string, unknown> = { after: null }) {
  const args = { schema, document: graphql.parse(query), variableValues, contextValue: context };
  const plan = planOf(args);
  const expected = JSON.stringify(graphql.execute({ ...args, rootValue: event }));
  return { plan, planned: plan?.(event) ?? null, expected };
}

it('gives what graphql gives for the usual selections, aliases and __typename included', () => {
  const docs = [
    'subscription S($after: String) { changes(after: $after) { cursor table op rowId version changedFields actor branchId at data } }',
    'subscription S($after: String) { c: changes(after: $after, tables: ["customers"]) { __typename id: rowId when: at op data } }',
    'subscription { changes { data cursor } }',
  ];
  for (const doc of docs) {
    for (const event of [
      row(),
      row({ op: 'D', data: null, changed: null, version: null }),
      row({ op: 'I', branchId: 'b' }),
    ]) {
      const { plan, planned, expected } = both(doc, event);
      expect(plan).not.toBeNull();
      expect(planned).toBe(expected);
    }
  }
});

it('leaves to graphql what it does not plan, and events whose result has errors', () => {
  // Fragments, directives and nested selections are not planned.
  expect(both('subscription { changes { ...F } } fragment F on Change { cursor }', row()).plan).toBeNull();
  expect(both('subscription { changes { cursor @include(if: true) } }', row()).plan).toBeNull();
  expect(both('subscription { changes @include(if: true) { cursor } }', row()).plan).toBeNull();
  // A non-null field that resolves to null (a bad row) is graphql's to report.
  const bad = both('subscription { changes { table } }', row({ tbl: null as unknown as string }));
  expect(bad.plan).not.toBeNull();
  expect(bad.planned).toBeNull();
  expect(bad.expected).toContain('"errors"');
  // An enum value that does not serialize, likewise.
  expect(both('subscription { changes { op } }', row({ op: 'X' as 'I' })).planned).toBeNull();
});

/**
 * Relay connections for list queries: `XConnection { edges { cursor node } pageInfo feedCursor }`.
 * The nodes are loaded with `queryFromInfo` at `edges.node`, so the relations a client selects
 * are fetched in the same snapshot with one query per relation, never one per row.
 */
import type { ObjectRef } from '@pothos/core';
import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { ValidationError } from '../errors.ts';
import type { Page } from '../resolvers/page.ts';

const PageInfoRef = builder.objectRef<Page<unknown>['pageInfo']>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage'),
    startCursor: t.exposeString('startCursor', { nullable: true }),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

// biome-ignore lint/suspicious/noExplicitAny: any Pothos object ref whose resolved shape is T
export function connectionType<T>(nodeName: string, nodeRef: ObjectRef<any, T>) {
  const EdgeRef = builder.objectRef<{ cursor: string; node: T }>(`${nodeName}Edge`).implement({
    fields: (t) => ({
      cursor: t.exposeString('cursor'),
      node: t.field({ type: nodeRef, resolve: (e) => e.node as never }),
    }),
  });
  return builder.objectRef<Page<T>>(`${nodeName}Connection`).implement({
    fields: (t) => ({
      edges: t.field({ type: [EdgeRef], resolve: (c) => c.edges }),
      pageInfo: t.field({ type: PageInfoRef, resolve: (c) => c.pageInfo }),
      feedCursor: t.exposeString('feedCursor', {
        description:
          'The change-feed position of the snapshot this page was read from: subscribe to `changes(after:)` ' +
          'with it to receive every change made after this read, none missed.',
      }),
    }),
  });
}

/** The Prisma query for the nodes of a connection field (relations the client selected). */
export function nodeQuery(ctx: Context, info: GraphQLResolveInfo): Record<string, unknown> {
  return queryFromInfo({ context: ctx, info, path: ['edges', 'node'] }) as Record<string, unknown>;
}

/** Query fields have no error union: bad input surfaces as a GraphQL error with BAD_USER_INPUT. */
export async function asQueryResult<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ValidationError) {
      throw createGraphQLError(err.message, {
        extensions: { code: 'BAD_USER_INPUT', fieldErrors: err.fieldErrors },
      });
    }
    throw err;
  }
}

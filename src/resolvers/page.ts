/**
 * Relay-style pages read from one snapshot. A cursor is the opaque base64url of the last row's
 * id; the next page starts after that row in the list's own order (Prisma cursor pagination, so
 * the order stays stable even when rows are inserted meanwhile). Every page carries the
 * `feedCursor` of the snapshot it was read from.
 */
import { z } from 'zod';
import type { Context } from '../context.ts';
import { readSnapshot, type Tx } from './tx.ts';
import { LIMITS, parse } from './validate.ts';

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Page<T> {
  edges: Edge<T>[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
  feedCursor: string;
}

/** The Prisma window for findMany: one row more than asked, to learn whether there is a next page. */
export interface Window {
  take: number;
  skip?: number;
  cursor?: { id: string };
}

export const encodePageCursor = (id: string) => Buffer.from(`id:${id}`).toString('base64url');

const pageArgs = z.object({
  first: z.number().int().min(1).max(LIMITS.maxPage).nullish(),
  after: z
    .string()
    .max(200)
    .transform((s, c) => {
      const decoded = Buffer.from(s, 'base64url').toString('utf8');
      const id = decoded.startsWith('id:') ? decoded.slice(3) : '';
      if (!z.uuid().safeParse(id).success) {
        c.addIssue({ code: 'custom', message: 'is not a cursor of this list' });
        return z.NEVER;
      }
      return id;
    })
    .nullish(),
});

export function pageWindow(args: PageArgs): { first: number; window: Window } {
  const { first, after } = parse(pageArgs, { first: args.first, after: args.after });
  const n = first ?? LIMITS.defaultPage;
  return { first: n, window: after ? { take: n + 1, skip: 1, cursor: { id: after } } : { take: n + 1 } };
}

export async function readPage<T extends { id: string }>(
  ctx: Context,
  args: PageArgs,
  load: (tx: Tx, window: Window) => Promise<T[]>,
): Promise<Page<T>> {
  const { first, window } = pageWindow(args);
  const { result: rows, feedCursor } = await readSnapshot(ctx, (tx) => load(tx, window));
  const nodes = rows.slice(0, first);
  const edges = nodes.map((node) => ({ cursor: encodePageCursor(node.id), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > first,
      hasPreviousPage: Boolean(args.after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    feedCursor,
  };
}

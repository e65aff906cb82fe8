/**
 * The change feed in the browser: one `changes(after)` subscription per signed-in user
 * (every branch the user may see; the server filters), started from the last cursor this device applied (kept in localStorage), or from the
 * `feedCursor` of a fresh read on first use. Each change is written into graphcache (so every
 * view showing the row updates in place) unless the cache already has that version or a newer
 * one: rows converge by `version`, so a change delivered twice after a resume is harmless.
 * Inserts and deletes (and status/archive changes) mark the affected lists stale so they reload.
 *
 * On every reconnect the subscription restarts from the last applied cursor. A cursor the server
 * no longer serves (CURSOR_EXPIRED: pruned, or from a database history that was lost to a restore,
 * a failover or a crash) is dropped and every view reloads.
 *
 * No list misses a change (feed-position.ts): every list loaded from the network reports its
 * snapshot cursor here; the feed starts from the oldest one loaded before it knew where to start,
 * and restarts from a list's cursor when that list arrived after the feed had applied changes
 * beyond it.
 */
import type { Client, OperationResult } from '@urql/core';
import { gql } from '@urql/core';
import type { Cache } from '@urql/exchange-graphcache';
import type { IntrospectionQuery } from 'graphql';
import { FeedStart } from './feed-position.ts';
import { createStore } from './lib/store.ts';
import { hasField } from './schema.ts';
import type { Session } from './session.ts';
import { markChanged, patchStatus, status } from './status.ts';
import { reconnects } from './transport.ts';

export const Feed_Subscription = gql`
  subscription Feed_Subscription($after: String, $branchId: ID, $tables: [String!]) {
    changes(after: $after, branchId: $branchId, tables: $tables) {
      cursor
      table
      op
      rowId
      version
      changedFields
      at
      data
    }
  }
`;

export const Feed_CursorQuery = gql`
  query Feed_CursorQuery($branchId: ID) {
    stockLevels(branchId: $branchId, first: 1) {
      feedCursor
    }
  }
`;

/** users and api_tokens reach admins only (the server filters them out for others). */
export const TABLES = [
  'stock_levels',
  'products',
  'orders',
  'customers',
  'branches',
  'users',
  'api_tokens',
  'stock_requests',
];

/** Bumped when cached lists can no longer be trusted (expired cursor): views remount and reload. */
export const reloadEpoch = createStore(0);

/**
 * Whether the feed knows the cursor it starts from. Views wait for it (at most READY_WAIT_MS, then
 * they load anyway, e.g. from the cache when offline), so lists are seldom older than the feed's
 * cursor; when one is, `position` moves the feed back to it, so no change can fall between the
 * two (a change the list already shows is applied again, harmlessly, by version).
 */
export const feedReady = createStore(false);
const READY_WAIT_MS = 3000;

type Row = Record<string, unknown>;

interface Change {
  cursor: string;
  table: string;
  op: string;
  rowId: string;
  version: number | null;
  changedFields: string[] | null;
  at: string;
  data: Row | null;
}

const text = (v: unknown) => (v === null || v === undefined ? null : String(v));

/** Row image (snake_case columns) to the GraphQL fields this app reads, per table. */
const MAPPERS: Record<string, { typename: string; list: string; map: (r: Row) => Row }> = {
  products: {
    typename: 'Product',
    list: 'products',
    map: (r) => ({
      sku: r.sku,
      barcode: r.barcode ?? null,
      name: r.name,
      description: r.description ?? null,
      unitPrice: text(r.unit_price),
      active: r.active,
      updatedAt: r.updated_at,
      updatedBy: r.updated_by ?? null,
    }),
  },
  stock_levels: {
    typename: 'StockLevel',
    list: 'stockLevels',
    map: (r) => ({
      branchId: r.branch_id,
      productId: r.product_id,
      quantity: r.quantity,
      reorderLevel: r.reorder_level,
      lowStock: Number(r.quantity) <= Number(r.reorder_level),
      updatedAt: r.updated_at,
      updatedBy: r.updated_by ?? null,
    }),
  },
  orders: {
    typename: 'Order',
    list: 'orders',
    map: (r) => ({
      number: r.number,
      status: r.status,
      total: text(r.total),
      itemCount: r.item_count,
      soldAt: r.sold_at,
      placedAt: r.placed_at ?? null,
      paidAt: r.paid_at ?? null,
      cancelledAt: r.cancelled_at ?? null,
      updatedAt: r.updated_at,
    }),
  },
  customers: {
    typename: 'Customer',
    list: 'customers',
    map: (r) => ({
      name: r.name,
      phone: r.phone ?? null,
      email: r.email ?? null,
      notes: r.notes ?? null,
      active: r.active,
      updatedAt: r.updated_at,
    }),
  },
  stock_requests: {
    typename: 'StockRequest',
    list: 'stockRequests',
    map: (r) => ({
      status: r.status,
      approvedQuantity: r.approved_quantity ?? null,
      inTransit: r.status === 'IN_TRANSIT' ? Number(r.approved_quantity ?? 0) : 0,
      responseNote: r.response_note ?? null,
      updatedAt: r.updated_at,
      updatedBy: r.updated_by ?? null,
    }),
  },
  branches: {
    typename: 'Branch',
    list: 'branches',
    map: (r) => ({ code: r.code, name: r.name, address: r.address ?? null, active: r.active }),
  },
  users: {
    typename: 'User',
    list: 'users',
    map: (r) => ({
      name: r.name,
      email: r.email,
      role: r.role,
      active: r.active,
      mustChangePassword: r.must_change_password,
      passwordChangedAt: r.password_changed_at ?? null,
      updatedAt: r.updated_at,
      updatedBy: r.updated_by ?? null,
    }),
  },
  api_tokens: {
    typename: 'ApiToken',
    list: 'apiTokens',
    map: (r) => ({
      name: r.name,
      kind: r.kind,
      expiresAt: r.expires_at ?? null,
      revokedAt: r.revoked_at ?? null,
      lastUsedAt: r.last_used_at ?? null,
    }),
  },
};

const fragments = new Map<string, ReturnType<typeof gql>>();

function fragmentFor(typename: string, fields: string[]) {
  const key = `${typename}:${fields.join(',')}`;
  let doc = fragments.get(key);
  if (!doc) {
    doc = gql(`fragment Feed_${typename} on ${typename} { ${fields.join(' ')} }`);
    fragments.set(key, doc);
  }
  return doc;
}

/** Marks cached lists stale (only those of `branchId`, or not filtered by branch, when given). */
export function invalidateList(cache: Cache, field: string, branchId?: unknown) {
  for (const f of cache.inspectFields('Query')) {
    if (f.fieldName !== field) continue;
    const listBranch = f.arguments?.branchId;
    if (branchId && listBranch && listBranch !== branchId) continue;
    cache.invalidate('Query', f.fieldKey);
  }
}

/** graphcache updater for `Subscription.changes`: applies one change to the normalized cache. */
export function applyChange(schema: IntrospectionQuery) {
  return (result: Row, _args: unknown, cache: Cache) => {
    const change = result.changes as Change | undefined;
    if (!change) return;
    const mapper = MAPPERS[change.table];
    if (!mapper) return;
    const entity = { __typename: mapper.typename, id: change.rowId };
    const known = cache.resolve(entity, 'version');
    const cached = typeof known === 'number';
    if (change.op !== 'DELETE' && cached && change.version !== null && known >= change.version) return;
    // A stock request is listed under both its branches: every such list may hold it.
    const branchId = change.table === 'stock_requests' ? undefined : change.data?.branch_id;
    if (change.op === 'DELETE') {
      cache.invalidate(entity);
      invalidateList(cache, mapper.list, branchId);
      return;
    }
    if (change.data && cached) {
      const mapped: Row = { ...mapper.map(change.data), id: change.rowId, version: change.version };
      const fields = Object.keys(mapped).filter((f) => hasField(schema, mapper.typename, f));
      const data: Row = { __typename: mapper.typename };
      for (const f of fields) data[f] = mapped[f];
      cache.writeFragment(fragmentFor(mapper.typename, fields), data);
    }
    // A new row, or one that may move in or out of a filtered list: reload the lists it may be in.
    // A user's branches are not in the row image (updateUser moves the user's version when they
    // change): every users change reloads the users lists.
    const structural =
      change.op === 'INSERT' ||
      change.table === 'users' ||
      (change.changedFields ?? []).some((f) => f === 'status' || f === 'active');
    if (structural) invalidateList(cache, mapper.list, branchId);
    markChanged(change.rowId);
  };
}

let stopCurrent: (() => void) | null = null;

/** Where the feed is, against the lists in the cache. */
const position = new FeedStart();
/** Restarts the running feed from a cursor (set while a feed runs). */
let restartFrom: ((cursor: string) => void) | null = null;

/**
 * urql `mapExchange` hook below the cache: every query result from the network reports the
 * snapshot cursors (`feedCursor`) of the lists in it before they are written to the cache.
 */
export function noteListCursors(result: OperationResult): void {
  if (result.operation.kind !== 'query' || !result.data) return;
  for (const value of Object.values(result.data as Record<string, unknown>)) {
    const cursor = (value as { feedCursor?: unknown } | null)?.feedCursor;
    if (typeof cursor !== 'string') continue;
    const from = position.list(cursor);
    if (from) restartFrom?.(from);
  }
}

function errorCode(error: { graphQLErrors?: { extensions?: Row }[] } | undefined): string | undefined {
  return error?.graphQLErrors?.map((e) => e.extensions?.code).find((c): c is string => typeof c === 'string');
}

/** Follows the feed of the session's user until stopFeed() or the next startFeed(). */
export function startFeed(client: Client, s: Session) {
  stopFeed();
  const key = `branchline.cursor.${s.user.id}`;
  let sub: { unsubscribe(): void } | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let generation = 0;
  feedReady.set(false);
  position.reset();
  const readyAnyway = setTimeout(() => feedReady.set(true), READY_WAIT_MS);
  const ready = () => {
    clearTimeout(readyAnyway);
    feedReady.set(true);
  };

  const restart = (delay: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => void start(), delay);
  };
  restartFrom = (cursor) => {
    localStorage.setItem(key, cursor);
    restart(0);
  };

  const start = async () => {
    const mine = ++generation;
    sub?.unsubscribe();
    sub = null;
    if (stopped || status.get().connection === 'offline') {
      ready();
      return;
    }
    let after = localStorage.getItem(key);
    if (!after) {
      const r = await client
        .query(Feed_CursorQuery, { branchId: null }, { requestPolicy: 'network-only' })
        .toPromise();
      const cursor = (r.data as { stockLevels?: { feedCursor?: string } } | undefined)?.stockLevels
        ?.feedCursor;
      if (mine !== generation || stopped) return;
      if (!cursor) {
        ready();
        restart(2000);
        return;
      }
      after = cursor;
    }
    // An older list in the cache moves the start back to its snapshot.
    after = position.start(after);
    localStorage.setItem(key, after);
    ready();
    sub = client
      .subscription(Feed_Subscription, { after, branchId: null, tables: TABLES })
      .subscribe((result) => {
        if (mine !== generation) return;
        if (result.error) {
          const code = errorCode(result.error);
          if (code === 'CURSOR_EXPIRED' || code === 'BAD_CURSOR') {
            localStorage.removeItem(key);
            position.reset();
            reloadEpoch.set((n) => n + 1);
            restart(0);
          } else if (code === 'UNAUTHENTICATED') {
            stopped = true;
          } else {
            restart(1000);
          }
          return;
        }
        const change = (result.data as { changes?: Change } | undefined)?.changes;
        if (change) {
          position.applied(change.cursor);
          localStorage.setItem(key, change.cursor);
          patchStatus({ lastChangeAt: Date.now() });
        }
      });
  };

  const offReconnect = reconnects.subscribe(() => restart(0));
  void start();
  stopCurrent = () => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(readyAnyway);
    feedReady.set(false);
    position.reset();
    restartFrom = null;
    offReconnect();
    sub?.unsubscribe();
  };
}

export function stopFeed() {
  stopCurrent?.();
  stopCurrent = null;
}

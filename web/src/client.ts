/**
 * Builds the urql client: graphcache as `offlineExchange` (schema-aware, persisted in IndexedDB
 * with makeDefaultStorage, so views render from the cache with no connection), subscriptions
 * forwarded to the graphql-ws / SSE transport, and fetch for queries and mutations. Mutations are
 * never queued by graphcache itself (no optimistic updaters): the app's outbox owns that.
 */
import { Client, fetchExchange, mapExchange, subscriptionExchange } from '@urql/core';
import { offlineExchange } from '@urql/exchange-graphcache';
import { makeDefaultStorage } from '@urql/exchange-graphcache/default-storage';
import type { IntrospectionQuery } from 'graphql';
import { applyChange, invalidateList, noteListCursors } from './feed.ts';
import type { Sender } from './outbox/queue.ts';
import { embeddedKeys } from './schema.ts';
import { CSRF_HEADERS, forwardSubscription } from './transport.ts';

export interface ClientOptions {
  schema: IntrospectionQuery;
  userId: string;
  getToken: () => string | null;
  onUnauthenticated: () => void;
  /** The server answers PASSWORD_CHANGE_REQUIRED (an administrator reset the password). */
  onPasswordChangeRequired?: () => void;
}

export function createUrqlClient(opts: ClientOptions): Client {
  const storage = makeDefaultStorage({ idbName: `branchline-cache-${opts.userId}`, maxAge: 7 });
  const cache = offlineExchange({
    schema: opts.schema,
    storage,
    keys: embeddedKeys(opts.schema),
    updates: {
      Subscription: { changes: applyChange(opts.schema) },
      Mutation: {
        placeOrder: (_r, _a, c) => invalidateList(c, 'orders'),
        createProduct: (_r, _a, c) => invalidateList(c, 'products'),
        archiveProduct: (_r, _a, c) => invalidateList(c, 'products'),
        createCustomer: (_r, _a, c) => invalidateList(c, 'customers'),
        archiveCustomer: (_r, _a, c) => invalidateList(c, 'customers'),
        createUser: (_r, _a, c) => invalidateList(c, 'users'),
        createApiToken: (_r, _a, c) => invalidateList(c, 'apiTokens'),
      },
    },
  });
  return new Client({
    url: '/graphql',
    requestPolicy: 'cache-and-network',
    fetchOptions: (): RequestInit => {
      const token = opts.getToken();
      const headers: Record<string, string> = {
        ...CSRF_HEADERS,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      };
      return { headers };
    },
    exchanges: [
      mapExchange({
        onError(error) {
          if (error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED'))
            opts.onUnauthenticated();
          if (error.graphQLErrors.some((e) => e.extensions?.code === 'PASSWORD_CHANGE_REQUIRED'))
            opts.onPasswordChangeRequired?.();
        },
      }),
      cache,
      // Below the cache: network results only, before they are written (see noteListCursors).
      mapExchange({ onResult: noteListCursors }),
      subscriptionExchange({ forwardSubscription: (request) => forwardSubscription(request) }),
      fetchExchange,
    ],
  });
}

/** The outbox's way of sending a mutation through this client (so results land in the cache). */
export function senderFor(client: Client): Sender {
  return async (document, variables) => {
    const res = await client.mutation(document, variables, { requestPolicy: 'network-only' }).toPromise();
    const networkError = !!res.error?.networkError && !res.data;
    return {
      data: (res.data as Record<string, unknown> | undefined) ?? null,
      networkError,
      errors: res.error?.graphQLErrors.map((e) => ({
        message: e.message,
        code: typeof e.extensions?.code === 'string' ? e.extensions.code : undefined,
      })),
    };
  };
}

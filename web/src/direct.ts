/**
 * Online-only mutations (passwords, sessions, users, API tokens). Unlike stock and orders they
 * never wait in the outbox: a password or token secret is shown only in the answer, so it belongs
 * to the person at the screen now, and a password change must not land hours later. Each call
 * carries an idempotency key and is tried again with the same key after a network error, so a
 * lost answer never applies it twice.
 */
import type { Client } from '@urql/core';
import type { DocumentNode } from 'graphql';
import type { TypedError } from './outbox/queue.ts';

export type DirectResult<T> = { ok: true; data: T } | { ok: false; error: TypedError };

const OFFLINE: TypedError = {
  __typename: 'Offline',
  message: 'This needs a connection to the server; try again when it is back.',
};

export async function sendNow<T = Record<string, unknown>>(
  client: Client,
  document: DocumentNode,
  field: string,
  variables: Record<string, unknown> = {},
): Promise<DirectResult<T>> {
  const withKey = { ...variables, idempotencyKey: crypto.randomUUID() };
  for (let attempt = 0; attempt < 3; attempt++) {
    const res = await client.mutation(document, withKey, { requestPolicy: 'network-only' }).toPromise();
    if (res.error?.networkError && !res.data) {
      await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      continue;
    }
    const payload = (
      res.data as Record<string, { __typename?: string; data?: T } & TypedError> | undefined
    )?.[field];
    if (!payload) {
      const first = res.error?.graphQLErrors[0];
      const code = first?.extensions?.code;
      return {
        ok: false,
        error: {
          __typename: typeof code === 'string' ? code : 'Error',
          message: first?.message ?? 'The server refused this',
        },
      };
    }
    if (String(payload.__typename).endsWith('Success')) return { ok: true, data: payload.data as T };
    return { ok: false, error: payload };
  }
  return { ok: false, error: OFFLINE };
}

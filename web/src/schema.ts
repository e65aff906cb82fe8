/**
 * The API's introspected schema, which makes graphcache schema-aware (union and interface
 * fragments match deterministically, partial results are allowed where fields are nullable).
 * Fetched from /graphql at start (introspection answers without a token) and kept in localStorage
 * so the app also starts offline.
 */
import { getIntrospectionQuery, type IntrospectionQuery } from 'graphql';

const KEY = 'branchline.schema';

export async function loadSchema(): Promise<IntrospectionQuery> {
  const stored = localStorage.getItem(KEY);
  if (stored && navigator.onLine === false) return JSON.parse(stored) as IntrospectionQuery;
  try {
    const res = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
      },
      body: JSON.stringify({ query: getIntrospectionQuery({ descriptions: false }) }),
    });
    const body = (await res.json()) as { data?: IntrospectionQuery };
    if (body.data?.__schema) {
      localStorage.setItem(KEY, JSON.stringify(body.data));
      return body.data;
    }
  } catch {
    // offline: fall back to the stored copy
  }
  if (stored) return JSON.parse(stored) as IntrospectionQuery;
  throw new Error('Branchline cannot reach the server and has not been opened on this device before.');
}

/** graphcache keys: types without an `id` field are embedded in their parent (not normalized). */
export function embeddedKeys(schema: IntrospectionQuery): Record<string, () => null> {
  const keys: Record<string, () => null> = {};
  for (const type of schema.__schema.types) {
    if (type.kind !== 'OBJECT' || type.name.startsWith('__')) continue;
    if (['Query', 'Mutation', 'Subscription'].includes(type.name)) continue;
    if (!type.fields.some((f) => f.name === 'id')) keys[type.name] = () => null;
  }
  return keys;
}

export function hasField(schema: IntrospectionQuery, typeName: string, field: string): boolean {
  const type = schema.__schema.types.find((t) => t.name === typeName);
  return !!type && 'fields' in type && !!type.fields?.some((f) => f.name === field);
}

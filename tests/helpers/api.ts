/**
 * Helpers for API tests: sign in as the sample users, look up sample rows, unwrap mutation
 * results, and a checksum of every table (to prove that refused input changed nothing).
 */
import type pg from 'pg';
import { expect } from 'vitest';
import type { TestApp } from './app.ts';

export const PASSWORD = 'branchline';

export async function login(t: TestApp, email: string): Promise<string> {
  const res = await t.gql(
    `mutation ($email: String!, $password: String!) {
       login(email: $email, password: $password) {
         __typename ... on MutationLoginSuccess { data { token } } ... on Error { message } } }`,
    { email, password: PASSWORD },
  );
  expect(res.errors).toBeUndefined();
  expect(res.data?.login.__typename).toBe('MutationLoginSuccess');
  return res.data?.login.data.token as string;
}

/** The data of a mutation result union, failing the test on an error member. */
export function ok<T = any>(res: { data?: any; errors?: unknown }, field: string): T {
  expect(res.errors).toBeUndefined();
  const result = res.data?.[field];
  expect(result?.__typename, JSON.stringify(result)).toMatch(/Success$/);
  return result.data as T;
}

export interface Sample {
  branches: Record<string, string>;
  /** A product id that has stock at every branch. */
  productIds: string[];
}

export async function sample(t: TestApp): Promise<Sample> {
  const b = await t.db.pool.query<{ code: string; id: string }>('SELECT code, id FROM branches');
  const p = await t.db.pool.query<{ id: string }>('SELECT id FROM products ORDER BY sku');
  return {
    branches: Object.fromEntries(b.rows.map((r) => [r.code, r.id])),
    productIds: p.rows.map((r) => r.id),
  };
}

/** The application tables that checksum() covers by default. */
export const TABLES = [
  'branches',
  'products',
  'stock_levels',
  'stock_movements',
  'customers',
  'orders',
  'order_items',
  'payments',
  'product_prices',
  'order_counters',
  'users',
  'user_branches',
  'api_tokens',
  'idempotency_keys',
  'change_log',
  'import_map',
  'stock_requests',
];

/** Every table of the public schema (what a new migration adds included). */
export async function allTables(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ t: string }>(
    "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  return rows.map((r) => r.t);
}

/**
 * md5 of every row of every application table, in a stable order: of a test app's database, or of
 * any pool (an attack target's `db.pool`). `ignore` leaves out bookkeeping columns by table (e.g.
 * `api_tokens.last_used_at`, which merely using a token moves).
 */
export async function checksum(
  source: Pick<TestApp, 'db'> | pg.Pool,
  tables: readonly string[] = TABLES,
  ignore: Record<string, string[]> = {},
): Promise<Record<string, string>> {
  const pool = 'db' in source ? source.db.pool : source;
  const out: Record<string, string> = {};
  for (const table of tables) {
    const row = ignore[table]?.length ? '(to_jsonb(r) - $1::text[])::text' : 'r::text';
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n, coalesce(md5(string_agg(${row}, '|' ORDER BY ${row})), '') AS h FROM "${table}" r`,
      ignore[table]?.length ? [ignore[table]] : [],
    );
    out[table] = `${rows[0].n}:${rows[0].h}`;
  }
  return out;
}

export const typename = (res: { data?: any }, field: string): string => res.data?.[field]?.__typename;

/**
 * What a backup holds and how its tables are compared: the tables of the current schema in an
 * order where every table comes after the tables its foreign keys point to, their columns, and a
 * content checksum computed by PostgreSQL itself.
 *
 * Guarantees:
 * - `tableChecksum` depends only on the rows' contents (not their order, nor where they are on
 *   disk): the same rows give the same checksum in any database, so a checksum taken in the
 *   backup's snapshot can be compared with the restored table. Sessions must use the same
 *   TimeZone (both sides set UTC).
 * - The change log's `xid` and `id` are left out of its checksum: a restore renumbers them (see
 *   restore.ts), everything else in each row is compared.
 */
import type pg from 'pg';

/** Operational tables about this machine's backup files: not part of the data a backup holds. */
export const EXCLUDED_TABLES = new Set(['backup_runs']);

/** Columns a restore rewrites, left out of the table's checksum. */
export const RENUMBERED_COLUMNS: Record<string, string[]> = { change_log: ['xid', 'id'] };

export interface TableInfo {
  name: string;
  columns: string[];
}

export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The schema's tables (minus EXCLUDED_TABLES) in foreign-key order, with their columns. */
export async function listTables(client: pg.ClientBase): Promise<TableInfo[]> {
  const { rows: tables } = await client.query<{ name: string; columns: string[] }>(
    `SELECT c.relname AS name,
            array_agg(a.attname::text ORDER BY a.attnum) AS columns
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      GROUP BY c.relname`,
  );
  const { rows: refs } = await client.query<{ child: string; parent: string }>(
    `SELECT DISTINCT c.relname AS child, p.relname AS parent
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid
       JOIN pg_class p ON p.oid = k.confrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
      WHERE k.contype = 'f' AND c.oid <> p.oid`,
  );
  const wanted = tables.filter((t) => !EXCLUDED_TABLES.has(t.name));
  const parents = new Map<string, Set<string>>(wanted.map((t) => [t.name, new Set()]));
  for (const r of refs) parents.get(r.child)?.add(r.parent);
  // Kahn's algorithm, alphabetical among the ready ones (a stable order from run to run); a cycle
  // (none in Branchline's schema) falls back to alphabetical for what remains.
  const ordered: string[] = [];
  const remaining = new Set(wanted.map((t) => t.name));
  while (remaining.size) {
    const ready = [...remaining]
      .filter((name) => [...(parents.get(name) ?? [])].every((p) => !remaining.has(p)))
      .sort();
    const batch = ready.length ? ready : [...remaining].sort().slice(0, 1);
    for (const name of batch) {
      ordered.push(name);
      remaining.delete(name);
    }
  }
  // Prisma's bookkeeping first: a reader of the file sees the schema version before the data.
  ordered.sort((a, b) => Number(b === '_prisma_migrations') - Number(a === '_prisma_migrations'));
  const byName = new Map(wanted.map((t) => [t.name, t]));
  return ordered.map((name) => byName.get(name) as TableInfo);
}

/**
 * The content checksum of a table: row count and two 64-bit sums of the rows' MD5s (as JSON, less
 * the renumbered columns), hashed into one hex string. Order-independent; reads the table once.
 */
export async function tableChecksum(
  client: pg.ClientBase,
  table: string,
): Promise<{ rows: number; checksum: string }> {
  const skip = RENUMBERED_COLUMNS[table] ?? [];
  const row = skip.length
    ? `(to_jsonb(t) - ARRAY[${skip.map((c) => `'${c}'`).join(', ')}]::text[])::text`
    : 'to_jsonb(t)::text';
  const { rows } = await client.query<{ n: string; checksum: string }>(
    `SELECT count(*)::text AS n,
            md5(count(*)::text || ':' ||
                coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text || ':' ||
                coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text) AS checksum
       FROM (SELECT md5(${row}) AS h FROM ${quoteIdent(table)} t) s`,
  );
  return { rows: Number(rows[0]?.n ?? 0), checksum: rows[0]?.checksum ?? '' };
}

/** The migrations applied to a database (finished, not rolled back), in name order. */
export async function appliedMigrations(
  client: pg.ClientBase,
): Promise<{ name: string; checksum: string }[]> {
  const exists = await client.query(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return [];
  const { rows } = await client.query<{ name: string; checksum: string }>(
    `SELECT migration_name AS name, checksum FROM _prisma_migrations
      WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
  );
  return rows;
}

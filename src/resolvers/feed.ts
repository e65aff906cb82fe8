/**
 * Change-log rows as typed records: the row image a change carries (database column names, JSON
 * values) turned into the shape Prisma returns (camelCase fields, Date timestamps, decimals as
 * strings), so a typed subscription resolves from the event itself, without a query per event.
 */
import type { ChangeRow } from '../listeners/reader.ts';

const TIMESTAMP = /(_at)$/;

function camel(column: string): string {
  return column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The row after the change, shaped like a Prisma model object (null for a delete). */
export function rowImage<T>(row: ChangeRow): T | null {
  if (!row.data) return null;
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row.data)) {
    out[camel(column)] = TIMESTAMP.test(column) && typeof value === 'string' ? new Date(value) : value;
  }
  return out as T;
}

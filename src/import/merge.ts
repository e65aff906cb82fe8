/**
 * From source tables to one list of rows per record type, by source key. When several copies
 * hold the table (per-user copies of one database), rows with the same key are compared field by
 * field after cleaning; rows that agree become one, and rows that differ become a conflict, shown
 * side by side with each copy's updated_at / updated_by where the source has them. The mapping's
 * `copies.winner` decides: `newest` (the latest updated_at; a tie or a missing time decides
 * nothing), a copy's name, or `ask` (nothing); `copies.resolve` decides single rows
 * (`"products:17": "bob.db"`). A conflict nobody decided is skipped, never settled silently.
 */
import { fieldValue, type Mapping, MappingError, type RecordMapping, type RecordType } from './mapping.ts';
import type { SourceCopy, SourceTable } from './sources.ts';
import { tablesOf } from './sources.ts';
import { cleanLine, cleanText, type Decimal, parseDate, parseInteger, parseMoney } from './values.ts';

export interface MergedRow {
  type: RecordType;
  key: string;
  /** Mapped field values, raw as the winning copy has them. */
  values: Record<string, unknown>;
  location: string;
  /** Set when the row could not be taken: why (then it is skipped). */
  problem?: string;
}

export interface CopyVersion {
  copy: string;
  location: string;
  values: Record<string, string | null>;
  updatedAt: string | null;
  updatedBy: string | null;
}

export interface Conflict {
  type: RecordType;
  key: string;
  fields: string[];
  versions: CopyVersion[];
  /** The copy whose row was taken, or null when nothing was decided (the row is skipped). */
  winner: string | null;
  why: string;
}

export interface Merged {
  rows: Map<RecordType, MergedRow[]>;
  conflicts: Conflict[];
  /** Notes for the report (how keys were chosen, rows only some copies have). */
  notes: string[];
}

const MONEY = new Set(['unitPrice']);
const INT = new Set(['quantity', 'reorderLevel']);
const DATE = new Set(['placedAt']);
const MULTILINE = new Set(['description', 'notes', 'address']);

/** A field's value cleaned for comparison between copies (and for the report). */
export function comparable(field: string, raw: unknown, decimal: Decimal): string | null {
  if (MONEY.has(field)) return parseMoney(raw, decimal) ?? cleanLine(raw);
  if (INT.has(field)) return parseInteger(raw, decimal)?.toString() ?? cleanLine(raw);
  if (DATE.has(field)) return parseDate(raw)?.toISOString() ?? cleanLine(raw);
  if (MULTILINE.has(field)) return cleanText(raw);
  return cleanLine(raw);
}

const UPDATED_AT = [
  'updated_at',
  'updatedat',
  'modified_at',
  'last_modified',
  'modified',
  'updated',
  'changed_at',
];
const UPDATED_BY = ['updated_by', 'updatedby', 'modified_by', 'changed_by', 'last_user', 'user'];

/** Case-insensitive column lookup of one table. */
function columnOf(table: SourceTable, name: string): string | undefined {
  return (
    table.columns.find((c) => c === name) ?? table.columns.find((c) => c.toLowerCase() === name.toLowerCase())
  );
}

/** The key columns: the mapping's, the table's primary key, an `id` column, or a natural key. */
function keyColumns(
  type: RecordType,
  m: RecordMapping,
  table: SourceTable,
): { columns: string[]; how: string; firstOf?: boolean } {
  if (m.key) return { columns: Array.isArray(m.key) ? m.key : [m.key], how: 'from the mapping' };
  if (table.primaryKey.length) return { columns: table.primaryKey, how: 'the primary key' };
  const id = columnOf(table, 'id');
  if (id) return { columns: [id], how: 'column id' };
  const f = m.fields;
  const natural: Partial<Record<RecordType, (string | undefined)[]>> = {
    branches: [f.code as string],
    products: [f.sku as string],
    stock: [(f.product ?? f.productSku ?? f.productBarcode) as string, (f.branch ?? f.branchCode) as string],
    orderLines: [f.order as string, (f.product ?? f.productSku ?? f.productBarcode) as string],
  };
  if (type === 'customers') {
    // Customers often lack an email or a phone: the first of email, phone, name that is not blank.
    const cols = [f.email, f.phone, f.name].filter((c): c is string => typeof c === 'string');
    return {
      columns: cols,
      how: `natural key (the first of ${cols.join(', ')} that is not blank)`,
      firstOf: true,
    };
  }
  const cols = (natural[type] ?? []).filter((c): c is string => typeof c === 'string');
  if (cols.length) return { columns: cols, how: `natural key (${cols.join(', ')})` };
  return { columns: [], how: 'none: rows are told apart by their position; give "key" in the mapping' };
}

function decide(
  mapping: Mapping,
  type: RecordType,
  key: string,
  versions: CopyVersion[],
): { winner: string | null; why: string } {
  const chosen = mapping.copies.resolve[`${type}:${key}`];
  if (chosen) {
    return versions.some((v) => v.copy === chosen)
      ? { winner: chosen, why: `chosen in the mapping (copies.resolve)` }
      : { winner: null, why: `copies.resolve names ${chosen}, which does not have this row` };
  }
  const rule = mapping.copies.winner;
  if (rule === 'ask') {
    return {
      winner: null,
      why: `not decided: add "${type}:${key}": "<copy>" to copies.resolve, or set copies.winner`,
    };
  }
  if (rule === 'newest') {
    const times = versions.map((v) => (v.updatedAt ? parseDate(v.updatedAt)?.getTime() : undefined));
    if (times.some((t) => t === undefined))
      return { winner: null, why: 'not decided: a copy has no updated_at' };
    const max = Math.max(...(times as number[]));
    const newest = versions.filter((_, i) => times[i] === max);
    if (newest.length > 1)
      return { winner: null, why: 'not decided: the newest updated_at is the same in two copies' };
    return { winner: (newest[0] as CopyVersion).copy, why: 'newest updated_at' };
  }
  return versions.some((v) => v.copy === rule)
    ? { winner: rule, why: `copy ${rule} wins (copies.winner)` }
    : { winner: null, why: `not decided: copy ${rule} (copies.winner) does not have this row` };
}

export function mergeSources(copies: SourceCopy[], mapping: Mapping): Merged {
  const byTable = tablesOf(copies);
  const rows = new Map<RecordType, MergedRow[]>();
  const conflicts: Conflict[] = [];
  const notes: string[] = [];
  for (const [type, m] of Object.entries(mapping.records) as [RecordType, RecordMapping | undefined][]) {
    if (!m) continue;
    const holders = byTable.get(m.from.toLowerCase());
    if (!holders?.length) {
      const known = [...byTable.keys()].join(', ') || 'none';
      throw new MappingError(`${type}: no source has a table "${m.from}" (tables: ${known})`);
    }
    const groups = new Map<string, { copy: string; row: MergedRow; meta: { at: unknown; by: unknown } }[]>();
    const order: string[] = [];
    const taken: MergedRow[] = [];
    let keyHow = '';
    for (const { copy, table } of holders) {
      // Columns named in the mapping, resolved case-insensitively against this copy's table.
      const resolve = (col: string) => {
        const c = columnOf(table, col);
        if (!c)
          throw new MappingError(
            `${type}: table "${m.from}" of ${copy.name} has no column "${col}" (columns: ${table.columns.join(', ')})`,
          );
        return c;
      };
      const fields = Object.fromEntries(
        Object.entries(m.fields).map(([f, s]) => [f, typeof s === 'string' ? resolve(s) : s]),
      );
      const keys = keyColumns(type, m, table);
      keyHow = keys.how;
      const keyCols = keys.columns.map(resolve);
      const atCol = mapping.copies.updatedAt
        ? resolve(mapping.copies.updatedAt)
        : UPDATED_AT.map((c) => columnOf(table, c)).find(Boolean);
      const byCol = mapping.copies.updatedBy
        ? resolve(mapping.copies.updatedBy)
        : UPDATED_BY.map((c) => columnOf(table, c)).find(Boolean);
      const seen = new Map<string, string>();
      for (const [i, r] of table.rows.entries()) {
        const values = Object.fromEntries(
          Object.entries(fields).map(([f, s]) => [f, fieldValue(s, r.values)]),
        );
        let parts = keyCols.map((c) => cleanLine(r.values[c]));
        if (keys.firstOf) {
          const at = parts.findIndex((p) => p !== null);
          parts = at < 0 ? [null] : [`${keyCols[at]}:${parts[at]}`];
        }
        const key = keyCols.length ? parts.map((p) => p ?? '').join('|') : `#${i + 1}`;
        const row: MergedRow = { type, key, values, location: r.location };
        if (parts.some((p) => p === null)) {
          taken.push({ ...row, problem: `blank source key (${keyCols.join(', ')})` });
          continue;
        }
        if (seen.has(key)) {
          taken.push({ ...row, problem: `duplicate source key ${key} (first at ${seen.get(key)})` });
          continue;
        }
        seen.set(key, r.location);
        const meta = { at: atCol ? r.values[atCol] : null, by: byCol ? r.values[byCol] : null };
        if (!groups.has(key)) {
          groups.set(key, []);
          order.push(key);
        }
        groups.get(key)?.push({ copy: copy.name, row, meta });
      }
    }
    notes.push(
      `${type}: from table "${m.from}" of ${holders.map((h) => h.copy.name).join(', ')}; source key: ${keyHow}`,
    );
    let partial = 0;
    for (const key of order) {
      const group = groups.get(key) ?? [];
      if (holders.length > 1 && group.length < holders.length) partial++;
      const first = group[0] as (typeof group)[number];
      if (group.length === 1) {
        taken.push(first.row);
        continue;
      }
      const versions: CopyVersion[] = group.map((g) => ({
        copy: g.copy,
        location: g.row.location,
        values: Object.fromEntries(
          Object.keys(m.fields).map((f) => [f, comparable(f, g.row.values[f], mapping.decimal)]),
        ),
        updatedAt: g.meta.at == null ? null : (parseDate(g.meta.at)?.toISOString() ?? cleanLine(g.meta.at)),
        updatedBy: cleanLine(g.meta.by),
      }));
      const differing = Object.keys(m.fields).filter((f) =>
        versions.some((v) => v.values[f] !== versions[0]?.values[f]),
      );
      if (differing.length === 0) {
        taken.push(first.row);
        continue;
      }
      const { winner, why } = decide(mapping, type, key, versions);
      conflicts.push({ type, key, fields: differing, versions, winner, why });
      const won = group.find((g) => g.copy === winner);
      taken.push(
        won ? won.row : { ...first.row, problem: `differs between copies (${differing.join(', ')}); ${why}` },
      );
    }
    if (partial) notes.push(`${type}: ${partial} row(s) are in some copies only (taken as they are)`);
    rows.set(type, taken);
  }
  return { rows, conflicts, notes };
}

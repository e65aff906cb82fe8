/**
 * Conflict logic for queued field edits (pure, no browser APIs).
 *
 * An edit carries `patch` (the fields the user changed, with their new values) and `base` (those
 * fields as the user saw them). When the server answers VersionConflict with `current`, a field is
 * in conflict only when someone else changed it too (current differs from base, or the server
 * lists it in changedFields when no base is known) and to a value other than mine. No conflicting
 * field: retry with my whole patch on top of current. Otherwise the user decides per field.
 */

export type Row = Record<string, unknown>;

export interface FieldConflict {
  field: string;
  mine: unknown;
  theirs: unknown;
  base: unknown;
}

export type Resolution =
  | { kind: 'retry'; patch: Row; base: Row }
  | { kind: 'ask'; conflicts: FieldConflict[] };

const NUMERIC = /^-?\d+(\.\d+)?$/;

/** Equality that treats "12.5" and "12.50" (decimals) and null/undefined/"" as the same. */
export function sameValue(a: unknown, b: unknown): boolean {
  const blank = (v: unknown) => v === null || v === undefined || v === '';
  if (blank(a) || blank(b)) return blank(a) && blank(b);
  if (typeof a === typeof b && typeof a !== 'string') return a === b;
  const sa = String(a);
  const sb = String(b);
  if (NUMERIC.test(sa) && NUMERIC.test(sb)) return Number(sa) === Number(sb);
  return sa === sb;
}

export function resolveConflict(
  patch: Row,
  base: Row | undefined,
  current: Row,
  changedFields: string[],
): Resolution {
  const conflicts: FieldConflict[] = [];
  for (const [field, mine] of Object.entries(patch)) {
    const theirs = current[field];
    const changedByOthers =
      base && field in base ? !sameValue(base[field], theirs) : changedFields.includes(field);
    if (changedByOthers && !sameValue(theirs, mine)) {
      conflicts.push({ field, mine, theirs, base: base?.[field] });
    }
  }
  if (conflicts.length > 0) return { kind: 'ask', conflicts };
  return { kind: 'retry', patch, base: pick(current, Object.keys(patch)) };
}

export type Choice = 'mine' | 'theirs';

/**
 * The patch to send after the user chose per conflicting field. Fields without a conflict keep my
 * value; a field resolved as "theirs" is left out (the server already has it). Returns null when
 * nothing is left to send.
 */
export function applyChoices(
  patch: Row,
  conflicts: FieldConflict[],
  choices: Record<string, Choice>,
): Row | null {
  const out: Row = {};
  for (const [field, value] of Object.entries(patch)) {
    const conflict = conflicts.find((c) => c.field === field);
    if (conflict && (choices[field] ?? 'mine') === 'theirs') continue;
    out[field] = value;
  }
  return Object.keys(out).length > 0 ? out : null;
}

export function pick(row: Row, fields: string[]): Row {
  return Object.fromEntries(fields.map((f) => [f, row[f]]));
}

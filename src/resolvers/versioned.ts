/**
 * Optimistic locking for field edits (DESIGN.md "Write rules" 1). The version check and the write
 * are one statement (`updateMany({ where: { id, version } })`, i.e. UPDATE ... WHERE id = $1 AND
 * version = $2): a concurrent writer that got there first makes it match nothing, and the row is
 * not touched. Then the current row is read and, on a mismatch, returned in a VersionConflict
 * together with the fields changed after the client's version, read from the change log.
 * Product edits follow the same rule in raw SQL (`UPDATE ... RETURNING *`, product-edit.ts).
 */
import { NotFoundError, VersionConflictError, type VersionedModel } from '../errors.ts';
import { countConflict } from '../ops/counters.ts';
import type { Tx } from './tx.ts';

export const camel = (column: string) => column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The columns changed on a row after a version ($3), from the change log (sorted); $1 table, $2 row id. */
export const CHANGED_COLUMNS_SQL = `
    SELECT DISTINCT unnest(changed) AS f FROM change_log
     WHERE tbl = $1 AND row_id = $2::uuid AND version > $3
     ORDER BY 1`;

/** The GraphQL field names changed on a row after `version`, from the change log (sorted). */
export async function changedFieldsSince(
  tx: Tx,
  table: string,
  rowId: string,
  version: number,
): Promise<string[]> {
  const rows = await tx.$queryRawUnsafe<{ f: string }[]>(CHANGED_COLUMNS_SQL, table, rowId, version);
  return rows.map((r) => camel(r.f));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  if (a instanceof Date || b instanceof Date)
    return new Date(a as string).getTime() === new Date(b as string).getTime();
  return String(a) === String(b);
}

export async function conflictError(
  tx: Tx,
  model: VersionedModel,
  table: string,
  current: { id: string } & Record<string, unknown>,
  patch: Record<string, unknown>,
  expectedVersion: number,
): Promise<VersionConflictError> {
  const changed = await changedFieldsSince(tx, table, current.id, expectedVersion);
  return conflictWith(model, current, changed, patch, expectedVersion);
}

/** The VersionConflict for `current`, given the fields the change log says changed since `expectedVersion`. */
export function conflictWith(
  model: VersionedModel,
  current: { id: string } & Record<string, unknown>,
  changedFields: string[],
  patch: Record<string, unknown>,
  expectedVersion: number,
): VersionConflictError {
  let changed = changedFields;
  if (changed.length === 0) {
    // The log no longer covers that version (pruned): name the fields where the row differs from the patch.
    changed = Object.keys(patch).filter((k) => !sameValue(current[k], patch[k]));
  }
  countConflict(model);
  return new VersionConflictError(model, current, changed, patch, expectedVersion);
}

export interface VersionedUpdate<Row> {
  model: VersionedModel;
  table: string;
  id: string;
  expectedVersion: number;
  /** What the client asked to change (echoed as `yourPatch`). */
  patch: Record<string, unknown>;
  /** The conditional write; returns the number of rows it changed (0 or 1). */
  write: () => Promise<number>;
  /** The row as it is now, or null when it does not exist or the viewer may not see it. */
  load: () => Promise<Row | null>;
}

export async function versionedUpdate<Row extends { id: string; version: number }>(
  tx: Tx,
  u: VersionedUpdate<Row>,
): Promise<Row> {
  const count = await u.write();
  const row = await u.load();
  if (!row) throw new NotFoundError(u.model, u.id);
  if (count === 0) {
    throw await conflictError(
      tx,
      u.model,
      u.table,
      row as Row & Record<string, unknown>,
      u.patch,
      u.expectedVersion,
    );
  }
  return row;
}

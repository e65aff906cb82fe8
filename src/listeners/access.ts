/**
 * Who may see which change. Decided once per (branch, role) and cached in a scope shared by every
 * subscription with the same role and branches: filtering an event is a Map lookup, never a
 * query per event per subscriber.
 *
 * Rules (DESIGN.md "Authorization"): ADMIN sees every change. A MANAGER or CLERK sees
 * branch-scoped rows (those with a branch id: branches, stock levels and movements, orders,
 * their items and payments) only of their own branches, shared rows (products, customers) of
 * every branch, and never users, their branch memberships or API tokens. A stock request is seen
 * by the users of both its branches (the asking one, its branch id, and the one asked). A customer's home branch in the row
 * image is null for a viewer who may not see that branch (`data`).
 */
import { canSeeBranch as viewerCanSeeBranch } from '../auth/access.ts';
import type { Viewer } from '../auth/viewer.ts';
import type { ChangeRow } from './reader.ts';

/** Tables whose changes the feed carries (every table with a change-log trigger). */
export const FEED_TABLES = [
  'branches',
  'products',
  'stock_levels',
  'stock_movements',
  'customers',
  'orders',
  'order_items',
  'payments',
  'stock_requests',
  'users',
  'user_branches',
  'api_tokens',
] as const;

const ADMIN_ONLY = new Set(['users', 'user_branches', 'api_tokens']);

/**
 * The second branch a row concerns besides its branch id: a stock request's branch asked
 * (from_branch_id), whose users see the request as well as the asking branch's.
 */
export function otherBranchOf(row: Pick<ChangeRow, 'tbl' | 'data'>): string | null {
  const from = row.tbl === 'stock_requests' ? row.data?.from_branch_id : undefined;
  return typeof from === 'string' ? from : null;
}

/** Whether a row belongs to `branchId` (a `changes(branchId)` filter); shared rows belong to all. */
export function concernsBranch(row: Pick<ChangeRow, 'tbl' | 'data' | 'branchId'>, branchId: string): boolean {
  return row.branchId === null || row.branchId === branchId || otherBranchOf(row) === branchId;
}

export interface AccessScope {
  /** Equal for viewers who see exactly the same changes (the grouping key's access part). */
  key: string;
  canSeeBranch(branchId: string): boolean;
  canSee(row: ChangeRow): boolean;
  /** The row image as this viewer may see it (a home branch it may not see is null). */
  data(row: Pick<ChangeRow, 'tbl' | 'data'>): Record<string, unknown> | null;
}

const scopes = new Map<string, AccessScope>();

/** `viewer` stands for every viewer with the same role and branches (the scope's key). */
function createScope(key: string, viewer: Viewer): AccessScope {
  const admin = viewer.role === 'ADMIN';
  const decided = new Map<string, boolean>();
  const canSeeBranch = (branchId: string) => {
    let ok = decided.get(branchId);
    if (ok === undefined) {
      ok = viewerCanSeeBranch(viewer, branchId);
      decided.set(branchId, ok);
    }
    return ok;
  };
  return {
    key,
    canSeeBranch,
    canSee(row) {
      if (admin) return true;
      if (ADMIN_ONLY.has(row.tbl)) return false;
      if (row.branchId === null || canSeeBranch(row.branchId)) return true;
      const other = otherBranchOf(row);
      return other !== null && canSeeBranch(other);
    },
    data(row) {
      const home = row.tbl === 'customers' ? row.data?.home_branch_id : undefined;
      if (admin || typeof home !== 'string' || canSeeBranch(home)) return row.data;
      return { ...row.data, home_branch_id: null };
    },
  };
}

export function accessScope(viewer: Viewer): AccessScope {
  const admin = viewer.role === 'ADMIN';
  const branches = admin ? [] : [...viewer.branchIds].sort();
  const key = admin ? 'ADMIN' : `${viewer.role}:${branches.join(',')}`;
  let scope = scopes.get(key);
  if (!scope) {
    if (scopes.size > 10_000) scopes.clear();
    scope = createScope(key, viewer);
    scopes.set(key, scope);
  }
  return scope;
}

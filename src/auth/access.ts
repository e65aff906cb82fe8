/**
 * The authorization rule, in one place (DESIGN.md "Authorization"). Every query, mutation and
 * nested field asks here:
 *
 * - **Branches.** ADMIN sees every branch; MANAGER and CLERK only the branches assigned to them.
 *   Branch-scoped rows (stock levels, movements, orders, order items) follow their branch. A row
 *   of a branch the viewer may not see is treated exactly like a row that does not exist
 *   (`NotFound`, `null`, or simply absent from a list), so its existence never leaks.
 * - **Catalogue and customers.** Products and customers are visible to every signed-in user
 *   (a till sells any product to any customer). Customers have a home branch for reporting only.
 * - **Actions by role.** What a role may do to a row it can see; refused with `Forbidden`.
 */
import { ForbiddenError, NotFoundError } from '../errors.ts';
import type { Role, Viewer } from './viewer.ts';

export type Action =
  /** placeOrder, payOrder, cancelOrder */
  | 'sell'
  /** receiveStock, countStock */
  | 'receiveStock'
  /** adjustStock, transferStock */
  | 'adjustStock'
  /** products and prices */
  | 'editCatalog'
  /** setReorderLevel */
  | 'editReorderLevels'
  /** create/update/archive customers (managers: customers of their branches or without one) */
  | 'editCustomers'
  /** create/update/archive branches */
  | 'editBranches'
  /** createApiToken, revokeApiToken of any user */
  | 'manageTokens';

const ALLOWED: Record<Role, ReadonlySet<Action>> = {
  ADMIN: new Set<Action>([
    'sell',
    'receiveStock',
    'adjustStock',
    'editCatalog',
    'editReorderLevels',
    'editCustomers',
    'editBranches',
    'manageTokens',
  ]),
  MANAGER: new Set<Action>([
    'sell',
    'receiveStock',
    'adjustStock',
    'editCatalog',
    'editReorderLevels',
    'editCustomers',
  ]),
  CLERK: new Set<Action>(['sell', 'receiveStock']),
};

export function can(viewer: Viewer, action: Action): boolean {
  return ALLOWED[viewer.role].has(action);
}

export function assertCan(viewer: Viewer, action: Action): void {
  if (!can(viewer, action))
    throw new ForbiddenError(`A ${viewer.role.toLowerCase()} may not do this (${action})`);
}

/** The branch ids the viewer may see, or null for "every branch" (ADMIN). */
export function visibleBranchIds(viewer: Viewer): string[] | null {
  return viewer.role === 'ADMIN' ? null : viewer.branchIds;
}

export function canSeeBranch(viewer: Viewer, branchId: string | null | undefined): boolean {
  if (!branchId) return false;
  return viewer.role === 'ADMIN' || viewer.branchIds.includes(branchId);
}

/** Throws NotFound (never Forbidden) for a branch the viewer may not see. */
export function assertBranchVisible(
  viewer: Viewer,
  branchId: string,
  entity = 'Branch',
  id = branchId,
): void {
  if (!canSeeBranch(viewer, branchId)) throw new NotFoundError(entity, id);
}

/** Prisma `where` filter on a branch id column; `{}` when every branch is visible. */
function inBranches(viewer: Viewer, column: 'id' | 'branchId') {
  const ids = visibleBranchIds(viewer);
  return ids === null ? {} : { [column]: { in: ids } };
}

/** Prisma `where` fragments restricting each model to what the viewer may see. */
export const scope = {
  branch: (viewer: Viewer) => inBranches(viewer, 'id') as { id?: { in: string[] } },
  stockLevel: (viewer: Viewer) => inBranches(viewer, 'branchId') as { branchId?: { in: string[] } },
  stockMovement: (viewer: Viewer) => inBranches(viewer, 'branchId') as { branchId?: { in: string[] } },
  order: (viewer: Viewer) => inBranches(viewer, 'branchId') as { branchId?: { in: string[] } },
  orderItem: (viewer: Viewer) => inBranches(viewer, 'branchId') as { branchId?: { in: string[] } },
};

/** Managers edit customers of their own branches and customers without a home branch. */
export function assertCanEditCustomer(viewer: Viewer, homeBranchId: string | null | undefined): void {
  assertCan(viewer, 'editCustomers');
  if (viewer.role !== 'ADMIN' && homeBranchId && !viewer.branchIds.includes(homeBranchId)) {
    throw new ForbiddenError('Only managers of its home branch may edit this customer');
  }
}

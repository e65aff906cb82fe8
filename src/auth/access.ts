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
 * - **Actions by role.** What a role may do to a row it can see; refused with `Forbidden` and a
 *   sentence a shop worker understands (docs/api.md has the matrix). Clerks receive and count
 *   only up to a limit and cannot cancel a paid order.
 * - **Users.** Admins manage everyone; managers the clerks of their own branches (a user they may
 *   not manage behaves like one that does not exist).
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
  /** createCustomer (clerks too, at the till: home branch among theirs or none) */
  | 'createCustomers'
  /** create/update/archive branches */
  | 'editBranches'
  /** createApiToken, revokeApiToken of any user */
  | 'manageTokens'
  /** users: create, update, reset passwords (managers: the clerks of their own branches) */
  | 'manageUsers'
  /** receive or count stock beyond the clerk's limit (CLERK_MAX_STOCK_CHANGE); cancel a paid order */
  | 'overrideLimits';

const ALLOWED: Record<Role, ReadonlySet<Action>> = {
  ADMIN: new Set<Action>([
    'sell',
    'receiveStock',
    'adjustStock',
    'editCatalog',
    'editReorderLevels',
    'editCustomers',
    'createCustomers',
    'editBranches',
    'manageTokens',
    'manageUsers',
    'overrideLimits',
  ]),
  MANAGER: new Set<Action>([
    'sell',
    'receiveStock',
    'adjustStock',
    'editCatalog',
    'editReorderLevels',
    'editCustomers',
    'createCustomers',
    'manageUsers',
    'overrideLimits',
  ]),
  CLERK: new Set<Action>(['sell', 'receiveStock', 'createCustomers']),
};

export function can(viewer: Viewer, action: Action): boolean {
  return ALLOWED[viewer.role].has(action);
}

/** What a refusal says: plain words for the person at the screen, never the action's name. */
const REFUSALS: Record<Action, string> = {
  sell: 'Your role cannot sell',
  receiveStock: 'Your role cannot receive or count stock',
  adjustStock: 'Only a manager can adjust or transfer stock',
  editCatalog: 'Only a manager can change products and prices',
  editReorderLevels: 'Only a manager can change reorder levels',
  editCustomers: 'Only a manager can edit or archive customers',
  createCustomers: 'Your role cannot add customers',
  editBranches: 'Only an admin can add or change branches',
  manageTokens: 'Only an admin can manage API tokens',
  manageUsers: 'Only a manager or an admin can manage users',
  overrideLimits: 'Only a manager can do this',
};

export function assertCan(viewer: Viewer, action: Action, refusal = REFUSALS[action]): void {
  if (!can(viewer, action)) throw new ForbiddenError(refusal);
}

/**
 * Receiving or counting stock: a clerk may change a quantity by at most `limit`
 * (CLERK_MAX_STOCK_CHANGE); more needs a manager.
 */
export function assertStockChangeAllowed(
  viewer: Viewer,
  kind: 'receipt' | 'count',
  change: number,
  limit: number,
): void {
  if (Math.abs(change) <= limit) return;
  assertCan(
    viewer,
    'overrideLimits',
    kind === 'receipt'
      ? `Only a manager can receive more than ${limit} at once`
      : `Only a manager can record a count that changes the quantity by more than ${limit}`,
  );
}

/** Cancelling a paid order is a refund: managers and admins only. */
export function assertCanCancel(viewer: Viewer, status: string): void {
  if (status === 'PAID') assertCan(viewer, 'overrideLimits', 'Only a manager can cancel a paid order');
}

/** A user as far as managing them goes: their role and branches. */
export interface ManagedUser {
  id: string;
  role: Role;
  branchIds: string[];
}

/**
 * Who may manage (see, edit, reset the password of) whom: admins everyone; managers the clerks
 * whose branches are all among their own (and who have at least one). Nobody else, and nobody
 * manages a user they may not manage into existence: a manager creates clerks of their own
 * branches only.
 */
export function canManageUser(viewer: Viewer, user: Omit<ManagedUser, 'id'>): boolean {
  if (viewer.role === 'ADMIN') return true;
  if (viewer.role !== 'MANAGER') return false;
  return (
    user.role === 'CLERK' &&
    user.branchIds.length > 0 &&
    user.branchIds.every((b) => viewer.branchIds.includes(b))
  );
}

/** Prisma `where` on users: those the viewer may manage (managers: clerks of their branches only). */
export function manageableUsers(viewer: Viewer) {
  if (viewer.role === 'ADMIN') return {};
  if (viewer.role !== 'MANAGER') return { id: { in: [] as string[] } };
  return {
    role: 'CLERK' as const,
    branches: { some: {}, every: { branchId: { in: viewer.branchIds } } },
  };
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

/**
 * Anyone who sells may add a customer (a clerk at the till) with a home branch they may see or
 * none; editing and archiving stay with managers (`assertCanEditCustomer`).
 */
export function assertCanCreateCustomer(viewer: Viewer, homeBranchId: string | null | undefined): void {
  if (viewer.role === 'CLERK') {
    assertCan(viewer, 'createCustomers');
    if (homeBranchId) assertBranchVisible(viewer, homeBranchId);
    return;
  }
  assertCanEditCustomer(viewer, homeBranchId);
}

/** Managers edit customers of their own branches and customers without a home branch. */
export function assertCanEditCustomer(viewer: Viewer, homeBranchId: string | null | undefined): void {
  assertCan(viewer, 'editCustomers');
  if (viewer.role !== 'ADMIN' && homeBranchId && !viewer.branchIds.includes(homeBranchId)) {
    throw new ForbiddenError('Only managers of its home branch may edit this customer');
  }
}

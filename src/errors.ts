/**
 * Expected outcomes that a client handles as data: each AppError subclass is a GraphQL object
 * type implementing the `Error` interface and appears as a member of a mutation's result union
 * (@pothos/plugin-errors). Anything else thrown is unexpected: Yoga masks it and it is logged.
 */
export class AppError extends Error {
  override name = 'AppError';
}

export class NotFoundError extends AppError {
  override name = 'NotFoundError';
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${id} was not found`);
  }
}

export class ForbiddenError extends AppError {
  override name = 'ForbiddenError';
}

export interface FieldError {
  path: string[];
  message: string;
}

export class ValidationError extends AppError {
  override name = 'ValidationError';
  constructor(
    message: string,
    readonly fieldErrors: FieldError[] = [],
  ) {
    super(message);
  }
}

/** Models whose rows carry a version (the members of the GraphQL `VersionedRecord` union). */
export type VersionedModel =
  | 'Branch'
  | 'Product'
  | 'Customer'
  | 'StockLevel'
  | 'Order'
  | 'User'
  | 'StockRequest';

/**
 * A stale `expectedVersion`: nothing was written. `current` is the row as it is now,
 * `changedFields` the fields changed after the client's version, `yourPatch` what the client sent.
 */
export class VersionConflictError extends AppError {
  override name = 'VersionConflictError';
  constructor(
    readonly model: VersionedModel,
    readonly current: object,
    readonly changedFields: string[],
    readonly yourPatch: Record<string, unknown>,
    readonly expectedVersion: number,
  ) {
    super(`${model} was changed by someone else since version ${expectedVersion}`);
  }
}

/** A movement would take stock below zero: nothing was written. */
export class InsufficientStockError extends AppError {
  override name = 'InsufficientStockError';
  constructor(
    readonly productId: string,
    readonly branchId: string,
    readonly requested: number,
    readonly available: number,
  ) {
    super(`Only ${available} in stock, ${requested} requested`);
  }
}

/** The same idempotencyKey was sent before with another operation or other arguments. */
export class IdempotencyKeyReusedError extends AppError {
  override name = 'IdempotencyKeyReusedError';
  constructor(readonly key: string) {
    super('This idempotencyKey was already used with different arguments');
  }
}

/**
 * login with an unknown email, a wrong password or an inactive user (deliberately not told apart);
 * changePassword with a wrong current password.
 */
export class AuthenticationFailedError extends AppError {
  override name = 'AuthenticationFailedError';
  constructor(message = 'Wrong email or password') {
    super(message);
  }
}

/**
 * login refused without checking the password: too many failed sign-ins for this account or
 * from this address, or too many sign-ins being checked at once. Try again after the wait.
 */
export class TooManyAttemptsError extends AppError {
  override name = 'TooManyAttemptsError';
  constructor(
    readonly retryAfterSeconds: number,
    reason = 'Too many failed sign-ins',
  ) {
    super(`${reason}; try again in ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}`);
  }
}

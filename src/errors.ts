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

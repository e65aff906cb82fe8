/**
 * The GraphQL types of expected errors (union members of mutation results, all implementing
 * `Error`). Mutation fields name the classes from src/errors.ts; Pothos maps them to these types.
 */
import { builder, ErrorInterface } from '../builder.ts';
import {
  AuthenticationFailedError,
  ForbiddenError,
  IdempotencyKeyReusedError,
  InsufficientStockError,
  NotFoundError,
  TooManyAttemptsError,
  ValidationError,
  VersionConflictError,
  type VersionedModel,
} from '../errors.ts';
import { UserRef } from './auth.ts';
import { BranchRef } from './branch.ts';
import { CustomerRef } from './customer.ts';
import { OrderRef } from './order.ts';
import { ProductRef } from './product.ts';
import { StockLevelRef } from './stock-level.ts';
import { StockRequestRef } from './stock-request.ts';

builder.objectType(NotFoundError, {
  name: 'NotFound',
  description: 'No such record, or one the viewer may not see (the two are indistinguishable).',
  interfaces: [ErrorInterface],
  fields: (t) => ({ entity: t.exposeString('entity'), id: t.exposeString('id') }),
});

builder.objectType(ForbiddenError, {
  name: 'Forbidden',
  description: 'The viewer may see the record but their role may not do this to it.',
  interfaces: [ErrorInterface],
});

const FieldErrorRef = builder.objectRef<{ path: string[]; message: string }>('FieldError').implement({
  fields: (t) => ({ path: t.exposeStringList('path'), message: t.exposeString('message') }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'Bad input; nothing was changed.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ fieldErrors: t.field({ type: [FieldErrorRef], resolve: (e) => e.fieldErrors }) }),
});

builder.objectType(InsufficientStockError, {
  name: 'InsufficientStock',
  description: 'The movement would take stock below zero; nothing was changed.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    productId: t.exposeID('productId'),
    branchId: t.exposeID('branchId'),
    requested: t.exposeInt('requested'),
    available: t.exposeInt('available'),
  }),
});

builder.objectType(IdempotencyKeyReusedError, {
  name: 'IdempotencyKeyReused',
  description:
    'The idempotencyKey was used before for another operation or other arguments; nothing was changed.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ key: t.exposeString('key') }),
});

builder.objectType(AuthenticationFailedError, {
  name: 'AuthenticationFailed',
  interfaces: [ErrorInterface],
});

builder.objectType(TooManyAttemptsError, {
  name: 'TooManyAttempts',
  description:
    'login refused without checking the password: too many failed sign-ins for this account or from this address, or too many at once. Wait retryAfterSeconds.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ retryAfterSeconds: t.exposeInt('retryAfterSeconds') }),
});

const recordTypes = new WeakMap<object, VersionedModel>();

const VersionedRecord = builder.unionType('VersionedRecord', {
  description: 'A record edited with an expectedVersion.',
  types: [BranchRef, ProductRef, CustomerRef, StockLevelRef, OrderRef, UserRef, StockRequestRef],
  resolveType: (value) => recordTypes.get(value as object) ?? 'Product',
});

builder.objectType(VersionConflictError, {
  name: 'VersionConflict',
  description:
    'The record changed since expectedVersion; nothing was written. Merge and retry with current.version.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    current: t.field({
      type: VersionedRecord,
      description: 'The record as it is now.',
      resolve: (e) => {
        recordTypes.set(e.current, e.model);
        return e.current as never;
      },
    }),
    changedFields: t.exposeStringList('changedFields', {
      description: 'Fields changed after expectedVersion (from the change log).',
    }),
    yourPatch: t.field({
      type: 'JSON',
      description: 'The change that was not applied.',
      resolve: (e) => e.yourPatch,
    }),
    expectedVersion: t.exposeInt('expectedVersion'),
  }),
});

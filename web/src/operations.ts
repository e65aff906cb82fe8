/** Fragments shared by the views' own operations: the typed errors every mutation result may carry. */
import { gql } from '@urql/core';
import type { Outcome } from './outbox/queue.ts';

export const Errors_Fragment = gql`
  fragment Errors_Fragment on Error {
    message
    ... on InsufficientStock {
      productId
      branchId
      requested
      available
    }
    ... on ValidationError {
      fieldErrors {
        path
        message
      }
    }
    ... on NotFound {
      entity
      id
    }
    ... on VersionConflict {
      changedFields
      expectedVersion
      current {
        ... on Product {
          id
          sku
          barcode
          name
          description
          unitPrice
          active
          version
        }
        ... on Customer {
          id
          name
          phone
          email
          notes
          active
          version
        }
        ... on StockLevel {
          id
          quantity
          reorderLevel
          lowStock
          version
        }
        ... on Order {
          id
          status
          version
        }
        ... on Branch {
          id
          version
        }
      }
    }
  }
`;

/** A readable sentence for a typed error. */
export function describeError(error: { __typename: string; message: string; [k: string]: unknown }): string {
  if (
    error.__typename === 'ValidationError' &&
    Array.isArray(error.fieldErrors) &&
    error.fieldErrors.length > 0
  ) {
    return (error.fieldErrors as { path: string[]; message: string }[])
      .map((f) => `${f.path.join('.')}: ${f.message}`)
      .join('; ');
  }
  return error.message;
}

/** What to tell the user about a queued change: done, saved for later, in conflict, or refused. */
export function outcomeText(o: Outcome, done: string): { ok: boolean; text: string } {
  switch (o.status) {
    case 'done':
      return { ok: true, text: done };
    case 'queued':
      return { ok: true, text: 'Saved on this device; it will be sent when the connection is back.' };
    case 'conflict':
      return { ok: false, text: 'Someone else changed this at the same time: choose what to keep.' };
    default:
      return { ok: false, text: describeError(o.error) };
  }
}

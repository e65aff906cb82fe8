/** The stock view's mutations (movements and reorder level), registered with the outbox. */
import { gql } from 'urql';
import { Errors_Fragment } from '../operations.ts';
import { defineMutation } from '../outbox/queue.ts';

const LEVEL = 'id quantity reorderLevel lowStock version updatedAt';

export const StockView_Receive = defineMutation({
  name: 'receiveStock',
  document: gql`
    mutation StockView_Receive($branchId: ID!, $productId: ID!, $quantity: Int!, $note: String, $idempotencyKey: String) {
      receiveStock(branchId: $branchId, productId: $productId, quantity: $quantity, note: $note, idempotencyKey: $idempotencyKey) {
        __typename
        ... on MutationReceiveStockSuccess { data { ${LEVEL} } }
        ...Errors_Fragment
      }
    }
    ${Errors_Fragment}
  `,
});

export const StockView_Adjust = defineMutation({
  name: 'adjustStock',
  document: gql`
    mutation StockView_Adjust($branchId: ID!, $productId: ID!, $delta: Int!, $reason: String!, $idempotencyKey: String) {
      adjustStock(branchId: $branchId, productId: $productId, delta: $delta, reason: $reason, idempotencyKey: $idempotencyKey) {
        __typename
        ... on MutationAdjustStockSuccess { data { ${LEVEL} } }
        ...Errors_Fragment
      }
    }
    ${Errors_Fragment}
  `,
});

export const StockView_Count = defineMutation({
  name: 'countStock',
  document: gql`
    mutation StockView_Count($branchId: ID!, $productId: ID!, $counted: Int!, $expectedVersion: Int!, $idempotencyKey: String) {
      countStock(branchId: $branchId, productId: $productId, counted: $counted, expectedVersion: $expectedVersion, idempotencyKey: $idempotencyKey) {
        __typename
        ... on MutationCountStockSuccess { data { ${LEVEL} } }
        ...Errors_Fragment
      }
    }
    ${Errors_Fragment}
  `,
  conflict: { kind: 'fail' },
});

export const StockView_Transfer = defineMutation({
  name: 'transferStock',
  document: gql`
    mutation StockView_Transfer($fromBranchId: ID!, $toBranchId: ID!, $productId: ID!, $quantity: Int!, $note: String, $idempotencyKey: String) {
      transferStock(fromBranchId: $fromBranchId, toBranchId: $toBranchId, productId: $productId, quantity: $quantity, note: $note, idempotencyKey: $idempotencyKey) {
        __typename
        ... on MutationTransferStockSuccess { data { transferId from { ${LEVEL} } to { ${LEVEL} } } }
        ...Errors_Fragment
      }
    }
    ${Errors_Fragment}
  `,
});

export const StockView_ReorderLevel = defineMutation({
  name: 'setReorderLevel',
  document: gql`
    mutation StockView_ReorderLevel($branchId: ID!, $productId: ID!, $expectedVersion: Int!, $reorderLevel: Int!, $idempotencyKey: String) {
      setReorderLevel(branchId: $branchId, productId: $productId, expectedVersion: $expectedVersion, reorderLevel: $reorderLevel, idempotencyKey: $idempotencyKey) {
        __typename
        ... on MutationSetReorderLevelSuccess { data { ${LEVEL} } }
        ...Errors_Fragment
      }
    }
    ${Errors_Fragment}
  `,
  conflict: {
    kind: 'patch',
    patchOf: (v) => ({ reorderLevel: v.reorderLevel }),
    withPatch: (v, p) => ({ ...v, reorderLevel: p.reorderLevel }),
  },
});

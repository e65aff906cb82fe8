/** Product editor (managers and admins): the fields, archive, and a link to the history. */
import { useState } from 'react';
import { gql, useQuery } from 'urql';
import { money } from '../lib/format.ts';
import { Errors_Fragment, outcomeText } from '../operations.ts';
import { defineMutation, enqueue } from '../outbox/queue.ts';
import { EditForm, type FieldSpec } from './EditForm.tsx';
import { OutcomeMessage } from './OutcomeMessage.tsx';

export const PRODUCT = 'id sku barcode name description unitPrice active version updatedAt updatedBy';

export const ProductEditor_Query = gql`
  query ProductEditor_Query($id: ID!) {
    product(id: $id) { ${PRODUCT} }
  }
`;

export const ProductEditor_Update = defineMutation({
  name: 'updateProduct',
  document: gql`
    mutation ProductEditor_Update($id: ID!, $expectedVersion: Int!, $patch: ProductPatch!, $idempotencyKey: String) {
      updateProduct(id: $id, expectedVersion: $expectedVersion, patch: $patch, idempotencyKey: $idempotencyKey) {
        __typename
        ... on MutationUpdateProductSuccess { data { ${PRODUCT} } }
        ...Errors_Fragment
      }
    }
    ${Errors_Fragment}
  `,
  conflict: {
    kind: 'patch',
    patchOf: (v) => v.patch as Record<string, unknown>,
    withPatch: (v, patch) => ({ ...v, patch }),
  },
});

export const ProductEditor_Archive = defineMutation({
  name: 'archiveProduct',
  document: gql`
    mutation ProductEditor_Archive($id: ID!, $expectedVersion: Int!, $idempotencyKey: String) {
      archiveProduct(id: $id, expectedVersion: $expectedVersion, idempotencyKey: $idempotencyKey) {
        __typename
        ... on MutationArchiveProductSuccess { data { ${PRODUCT} } }
        ...Errors_Fragment
      }
    }
    ${Errors_Fragment}
  `,
  conflict: { kind: 'rebaseWhile', field: 'active', value: true },
});

const FIELDS: FieldSpec[] = [
  { name: 'sku', label: 'SKU', required: true, maxLength: 64 },
  { name: 'barcode', label: 'Barcode', maxLength: 64 },
  { name: 'name', label: 'Name', required: true, maxLength: 200 },
  { name: 'unitPrice', label: 'Unit price', type: 'decimal', required: true },
  { name: 'description', label: 'Description', multiline: true, maxLength: 4000 },
];

export interface ProductRow {
  [field: string]: unknown;
  id: string;
  sku: string;
  barcode?: string | null;
  name: string;
  description: string | null;
  unitPrice: string;
  active: boolean;
  version: number;
  updatedBy: string | null;
}

export function ProductEditor({ id, editable }: { id: string; editable: boolean }) {
  const [{ data, fetching }] = useQuery({ query: ProductEditor_Query, variables: { id } });
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const p = data?.product as ProductRow | null | undefined;
  if (!p) return <p>{fetching ? 'Loading…' : 'No such product.'}</p>;

  async function archive(row: ProductRow) {
    const outcome = await enqueue(
      ProductEditor_Archive,
      { id: row.id, expectedVersion: row.version },
      { label: `Archive ${row.name}`, record: `Product:${row.id}` },
    );
    setMessage(outcomeText(outcome, 'Archived.'));
  }

  return (
    <section aria-labelledby="product-title">
      <p>
        <a href="#/products">← Products</a>
      </p>
      <h1 id="product-title">{p.name}</h1>
      {editable ? (
        <EditForm
          typename="Product"
          title={p.name}
          record={p}
          fields={FIELDS}
          update={ProductEditor_Update}
        />
      ) : (
        <dl>
          <dt>SKU</dt>
          <dd>{p.sku}</dd>
          {p.barcode && (
            <>
              <dt>Barcode</dt>
              <dd>{p.barcode}</dd>
            </>
          )}
          <dt>Price</dt>
          <dd>{money(p.unitPrice)}</dd>
        </dl>
      )}
      {editable && p.active && (
        <p>
          <button type="button" onClick={() => void archive(p)}>
            Archive product
          </button>
        </p>
      )}
      <OutcomeMessage message={message} />
      <p>
        <a href={`#/history/PRODUCTS/${p.id}`}>History of this product</a>
      </p>
    </section>
  );
}

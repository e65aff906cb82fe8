/** Customer editor (managers of the customer's home branch, and admins). */
import { gql, useQuery } from 'urql';
import { Errors_Fragment } from '../operations.ts';
import { defineMutation } from '../outbox/queue.ts';
import { EditForm, type FieldSpec } from './EditForm.tsx';

export const CUSTOMER = 'id name phone email notes active version updatedAt updatedBy homeBranch { id code }';

export const CustomerEditor_Query = gql`
  query CustomerEditor_Query($id: ID!) {
    customer(id: $id) { ${CUSTOMER} }
  }
`;

export const CustomerEditor_Update = defineMutation({
  name: 'updateCustomer',
  document: gql`
    mutation CustomerEditor_Update($id: ID!, $expectedVersion: Int!, $patch: CustomerPatch!, $idempotencyKey: String) {
      updateCustomer(id: $id, expectedVersion: $expectedVersion, patch: $patch, idempotencyKey: $idempotencyKey) {
        __typename
        ... on MutationUpdateCustomerSuccess { data { ${CUSTOMER} } }
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

const FIELDS: FieldSpec[] = [
  { name: 'name', label: 'Name', required: true, maxLength: 200 },
  { name: 'phone', label: 'Phone', type: 'tel', maxLength: 40 },
  { name: 'email', label: 'Email', type: 'email', maxLength: 320 },
  { name: 'notes', label: 'Notes', multiline: true, maxLength: 4000 },
];

export interface CustomerRow {
  [field: string]: unknown;
  id: string;
  name: string;
  phone: string | null;
  email: string | null;
  notes: string | null;
  active: boolean;
  version: number;
  homeBranch: { id: string; code: string } | null;
}

export function CustomerEditor({ id }: { id: string }) {
  const [{ data, fetching }] = useQuery({ query: CustomerEditor_Query, variables: { id } });
  const c = data?.customer as CustomerRow | null | undefined;
  if (!c) return <p>{fetching ? 'Loading…' : 'No such customer.'}</p>;
  return (
    <section aria-labelledby="customer-title">
      <p>
        <a href="#/customers">← Customers</a>
      </p>
      <h1 id="customer-title">{c.name}</h1>
      <EditForm
        typename="Customer"
        title={c.name}
        record={c}
        fields={FIELDS}
        update={CustomerEditor_Update}
      />
      <p>
        <a href={`#/history/CUSTOMERS/${c.id}`}>History of this customer</a>
      </p>
    </section>
  );
}

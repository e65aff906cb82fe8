/** Customers: list with search; create and edit (managers and admins). */
import { type FormEvent, useState } from 'react';
import { gql, useQuery } from 'urql';
import { Errors_Fragment } from '../operations.ts';
import { defineMutation, enqueue } from '../outbox/queue.ts';
import type { Session } from '../session.ts';
import { EditForm, type FieldSpec } from './EditForm.tsx';
import { outcomeText } from './MovementDialog.tsx';

const CUSTOMER = 'id name phone email notes active version updatedAt updatedBy homeBranch { id code }';

export const CustomersView_Query = gql`
  query CustomersView_Query($search: String) {
    customers(search: $search, first: 200) {
      feedCursor
      edges { node { ${CUSTOMER} } }
    }
  }
`;

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

export const CustomersView_Create = defineMutation({
  name: 'createCustomer',
  document: gql`
    mutation CustomersView_Create($input: CreateCustomerInput!, $idempotencyKey: String) {
      createCustomer(input: $input, idempotencyKey: $idempotencyKey) {
        __typename
        ... on MutationCreateCustomerSuccess { data { ${CUSTOMER} } }
        ...Errors_Fragment
      }
    }
    ${Errors_Fragment}
  `,
});

const FIELDS: FieldSpec[] = [
  { name: 'name', label: 'Name', required: true, maxLength: 200 },
  { name: 'phone', label: 'Phone', type: 'tel', maxLength: 40 },
  { name: 'email', label: 'Email', type: 'email', maxLength: 320 },
  { name: 'notes', label: 'Notes', multiline: true, maxLength: 4000 },
];

interface CustomerRow {
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

export function CustomersView({ s, id }: { s: Session; id?: string }) {
  if (id) return <CustomerEditor id={id} />;
  return <CustomerList s={s} />;
}

function CustomerList({ s }: { s: Session }) {
  const [search, setSearch] = useState('');
  const [{ data, error }] = useQuery({
    query: CustomersView_Query,
    variables: { search: search.trim() || null },
  });
  const rows: CustomerRow[] = data?.customers.edges.map((e: { node: CustomerRow }) => e.node) ?? [];
  return (
    <section aria-labelledby="customers-title">
      <div className="view-head">
        <h1 id="customers-title">Customers</h1>
        <div className="filters">
          <label>
            Search
            <input
              type="search"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
              placeholder="Name"
            />
          </label>
        </div>
      </div>
      {error && !data && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      <NewCustomer s={s} />
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Phone</th>
              <th scope="col">Email</th>
              <th scope="col">Home</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.id}>
                <td>{c.name}</td>
                <td>{c.phone ?? '—'}</td>
                <td>{c.email ?? '—'}</td>
                <td>{c.homeBranch?.code ?? '—'}</td>
                <td className="actions">
                  <a href={`#/customers/${c.id}`} aria-label={`Edit ${c.name}`}>
                    Edit
                  </a>
                  <a href={`#/history/CUSTOMERS/${c.id}`} aria-label={`History of ${c.name}`}>
                    History
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function NewCustomer({ s }: { s: Session }) {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ name: '', phone: '', email: '' });
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  if (!open) {
    return (
      <p>
        <button type="button" onClick={() => setOpen(true)}>
          New customer
        </button>
      </p>
    );
  }
  async function submit(e: FormEvent) {
    e.preventDefault();
    const input = {
      id: crypto.randomUUID(),
      name: form.name,
      phone: form.phone || null,
      email: form.email || null,
      homeBranchId: s.branchId,
    };
    const outcome = await enqueue(
      CustomersView_Create,
      { input },
      { label: `New customer ${form.name}`, record: `Customer:${input.id}` },
    );
    const text = outcomeText(outcome, `Customer ${form.name} created.`);
    setMessage(text);
    if (text.ok) setForm({ name: '', phone: '', email: '' });
  }
  const bind = (k: keyof typeof form) => ({
    value: form[k],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value })),
  });
  return (
    <form className="edit create" onSubmit={submit} aria-label="New customer">
      <div className="field">
        <label>
          Name <input required maxLength={200} {...bind('name')} />
        </label>
      </div>
      <div className="field">
        <label>
          Phone <input type="tel" maxLength={40} {...bind('phone')} />
        </label>
      </div>
      <div className="field">
        <label>
          Email <input type="email" maxLength={320} {...bind('email')} />
        </label>
      </div>
      {message && (
        <p className={message.ok ? 'ok' : 'error'} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </p>
      )}
      <div className="buttons">
        <button type="button" onClick={() => setOpen(false)}>
          Close
        </button>
        <button type="submit" className="primary">
          Create
        </button>
      </div>
    </form>
  );
}

function CustomerEditor({ id }: { id: string }) {
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

/** Customers: list with search; create and edit (managers and admins). */
import { useState } from 'react';
import { gql, useQuery } from 'urql';
import type { Session } from '../session.ts';
import { CUSTOMER, CustomerEditor, type CustomerRow } from './CustomerEditor.tsx';
import { NewCustomer } from './NewCustomer.tsx';

export const CustomersView_Query = gql`
  query CustomersView_Query($search: String) {
    customers(search: $search, first: 200) {
      feedCursor
      edges { node { ${CUSTOMER} } }
    }
  }
`;

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

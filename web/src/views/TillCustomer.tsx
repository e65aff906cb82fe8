/**
 * The till's customer picker: type part of a name, phone or email to pick a customer (walk-in
 * when none), or add one (name, phone, email) without leaving the till. A new customer gets a
 * client-generated id and goes through the outbox like every change, so it can be picked at once,
 * offline too.
 */
import { type FormEvent, useState } from 'react';
import { gql, useQuery } from 'urql';
import { outcomeText } from '../operations.ts';
import { enqueue } from '../outbox/queue.ts';
import type { Session } from '../session.ts';
import { CustomersView_Create } from './NewCustomer.tsx';
import { OutcomeMessage } from './OutcomeMessage.tsx';

export const TillCustomer_Search = gql`
  query TillCustomer_Search($search: String!) {
    customers(search: $search, first: 8) {
      edges {
        node {
          id
          name
          phone
          email
        }
      }
    }
  }
`;

export interface TillCustomerRow {
  id: string;
  name: string;
  phone: string | null;
  email?: string | null;
}

export function TillCustomer({
  s,
  customers,
  value,
  onChange,
}: {
  s: Session;
  customers: TillCustomerRow[];
  value: string;
  onChange: (id: string) => void;
}) {
  const [added, setAdded] = useState<TillCustomerRow[]>([]);
  const [query, setQuery] = useState('');
  const [picked, setPicked] = useState<TillCustomerRow | undefined>();
  const [adding, setAdding] = useState(false);
  const [form, setForm] = useState({ name: '', phone: '', email: '' });
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const all = [...added.filter((a) => !customers.some((c) => c.id === a.id)), ...customers];
  const q = query.trim().toLowerCase();
  // The server searches every customer; offline (or before it answers) the ones this till has.
  const [{ data }] = useQuery({
    query: TillCustomer_Search,
    variables: { search: query.trim() },
    pause: !q,
  });
  const found: TillCustomerRow[] | undefined = data?.customers.edges.map(
    (e: { node: TillCustomerRow }) => e.node,
  );
  const local = all.filter((c) =>
    [c.name, c.phone ?? '', c.email ?? ''].some((f) => f.toLowerCase().includes(q)),
  );
  const chosen = value
    ? (all.find((c) => c.id === value) ?? found?.find((c) => c.id === value) ?? picked)
    : undefined;
  const matches = q
    ? [...local.filter((c) => added.includes(c)), ...(found ?? local)]
        .filter((c, i, list) => list.findIndex((x) => x.id === c.id) === i)
        .slice(0, 8)
    : [];

  function pick(id: string) {
    setPicked(matches.find((c) => c.id === id));
    onChange(id);
    setQuery('');
    setMessage(null);
  }

  async function add(e: FormEvent) {
    e.preventDefault();
    const input = {
      id: crypto.randomUUID(),
      name: form.name.trim(),
      phone: form.phone.trim() || null,
      email: form.email.trim() || null,
      homeBranchId: s.branchId,
    };
    const outcome = await enqueue(
      CustomersView_Create,
      { input },
      { label: `New customer ${input.name}`, record: `Customer:${input.id}` },
    );
    const text = outcomeText(outcome, `Customer ${input.name} added.`);
    setMessage(text);
    if (!text.ok) return;
    setAdded((prev) => [{ id: input.id, name: input.name, phone: input.phone, email: input.email }, ...prev]);
    onChange(input.id);
    setQuery('');
    setForm({ name: '', phone: '', email: '' });
    setAdding(false);
  }

  const bind = (k: keyof typeof form) => ({
    value: form[k],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value })),
  });

  return (
    <div className="till-customer">
      <p>
        Customer: <strong data-testid="till-customer">{chosen ? chosen.name : 'Walk-in customer'}</strong>{' '}
        {chosen && (
          <button type="button" className="link" onClick={() => pick('')}>
            Clear
          </button>
        )}
      </p>
      <label>
        Find customer
        <input
          type="search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder="Name, phone or email"
        />
      </label>
      {matches.length > 0 && (
        <ul className="matches" aria-label="Matching customers">
          {matches.map((c) => (
            <li key={c.id}>
              <button type="button" onClick={() => pick(c.id)}>
                <span>{c.name}</span>
                <span className="muted">{c.phone ?? c.email ?? ''}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {q && matches.length === 0 && <p className="muted">No customer matches “{query.trim()}”.</p>}
      {adding ? (
        <form className="edit create" onSubmit={add} aria-label="Add customer">
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
          <div className="buttons">
            <button type="button" onClick={() => setAdding(false)}>
              Cancel
            </button>
            <button type="submit" className="primary">
              Add customer
            </button>
          </div>
        </form>
      ) : (
        <button
          type="button"
          onClick={() => {
            setAdding(true);
            setForm((f) => ({ ...f, name: f.name || query.trim() }));
          }}
        >
          New customer…
        </button>
      )}
      <OutcomeMessage message={message} />
    </div>
  );
}

/** Creating a customer of the current branch, with a client-generated id (queued like every change). */
import { type FormEvent, useState } from 'react';
import { gql } from 'urql';
import { Errors_Fragment, outcomeText } from '../operations.ts';
import { defineMutation, enqueue } from '../outbox/queue.ts';
import type { Session } from '../session.ts';
import { CUSTOMER } from './CustomerEditor.tsx';
import { OutcomeMessage } from './OutcomeMessage.tsx';

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

export function NewCustomer({ s }: { s: Session }) {
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
      <OutcomeMessage message={message} />
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

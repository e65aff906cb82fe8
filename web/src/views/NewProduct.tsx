/** Creating a product, with a client-generated id (queued like every change). */
import { type FormEvent, useState } from 'react';
import { gql } from 'urql';
import { Errors_Fragment, outcomeText } from '../operations.ts';
import { defineMutation, enqueue } from '../outbox/queue.ts';
import { OutcomeMessage } from './OutcomeMessage.tsx';
import { PRODUCT } from './ProductEditor.tsx';

export const ProductsView_Create = defineMutation({
  name: 'createProduct',
  document: gql`
    mutation ProductsView_Create($input: CreateProductInput!, $idempotencyKey: String) {
      createProduct(input: $input, idempotencyKey: $idempotencyKey) {
        __typename
        ... on MutationCreateProductSuccess { data { ${PRODUCT} } }
        ...Errors_Fragment
      }
    }
    ${Errors_Fragment}
  `,
});

export function NewProduct() {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ sku: '', barcode: '', name: '', unitPrice: '', description: '' });
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  if (!open) {
    return (
      <p>
        <button type="button" onClick={() => setOpen(true)}>
          New product
        </button>
      </p>
    );
  }
  async function submit(e: FormEvent) {
    e.preventDefault();
    const input = {
      id: crypto.randomUUID(),
      ...form,
      barcode: form.barcode.trim() || null,
      description: form.description || null,
    };
    const outcome = await enqueue(
      ProductsView_Create,
      { input },
      { label: `New product ${form.sku}`, record: `Product:${input.id}` },
    );
    const text = outcomeText(outcome, `Product ${form.sku} created.`);
    setMessage(text);
    if (text.ok) setForm({ sku: '', barcode: '', name: '', unitPrice: '', description: '' });
  }
  const bind = (k: keyof typeof form) => ({
    value: form[k],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value })),
  });
  return (
    <form className="edit create" onSubmit={submit} aria-label="New product">
      <div className="field">
        <label>
          SKU <input required maxLength={64} {...bind('sku')} />
        </label>
      </div>
      <div className="field">
        <label>
          Barcode <input maxLength={64} inputMode="numeric" {...bind('barcode')} />
        </label>
      </div>
      <div className="field">
        <label>
          Name <input required maxLength={200} {...bind('name')} />
        </label>
      </div>
      <div className="field">
        <label>
          Unit price{' '}
          <input required inputMode="decimal" pattern="\d{1,12}(\.\d{1,2})?" {...bind('unitPrice')} />
        </label>
      </div>
      <div className="field">
        <label>
          Description <input maxLength={4000} {...bind('description')} />
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

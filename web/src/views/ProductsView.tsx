/** Products: list with search; create, edit and archive (managers and admins). */
import { type FormEvent, useState } from 'react';
import { gql, useQuery } from 'urql';
import { money } from '../lib/format.ts';
import { Errors_Fragment } from '../operations.ts';
import { defineMutation, enqueue } from '../outbox/queue.ts';
import { canEditCatalog, type Session } from '../session.ts';
import { EditForm, type FieldSpec } from './EditForm.tsx';
import { outcomeText } from './MovementDialog.tsx';

const PRODUCT = 'id sku name description unitPrice active version updatedAt updatedBy';

export const ProductsView_Query = gql`
  query ProductsView_Query($search: String) {
    products(search: $search, first: 200, includeArchived: true) {
      feedCursor
      edges { node { ${PRODUCT} } }
    }
  }
`;

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

const FIELDS: FieldSpec[] = [
  { name: 'sku', label: 'SKU', required: true, maxLength: 64 },
  { name: 'name', label: 'Name', required: true, maxLength: 200 },
  { name: 'unitPrice', label: 'Unit price', type: 'decimal', required: true },
  { name: 'description', label: 'Description', multiline: true, maxLength: 4000 },
];

interface ProductRow {
  [field: string]: unknown;
  id: string;
  sku: string;
  name: string;
  description: string | null;
  unitPrice: string;
  active: boolean;
  version: number;
  updatedBy: string | null;
}

export function ProductsView({ s, id }: { s: Session; id?: string }) {
  if (id) return <ProductEditor id={id} editable={canEditCatalog(s)} />;
  return <ProductList editable={canEditCatalog(s)} />;
}

function ProductList({ editable }: { editable: boolean }) {
  const [search, setSearch] = useState('');
  const [{ data, error }] = useQuery({
    query: ProductsView_Query,
    variables: { search: search.trim() || null },
  });
  const rows: ProductRow[] = data?.products.edges.map((e: { node: ProductRow }) => e.node) ?? [];
  return (
    <section aria-labelledby="products-title">
      <div className="view-head">
        <h1 id="products-title">Products</h1>
        <div className="filters">
          <label>
            Search
            <input
              type="search"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
              placeholder="Name or SKU"
            />
          </label>
        </div>
      </div>
      {error && !data && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      {editable && <NewProduct />}
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th scope="col">SKU</th>
              <th scope="col">Name</th>
              <th scope="col" className="num">
                Price
              </th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={p.id} data-sku={p.sku} className={p.active ? undefined : 'archived'}>
                <td>{p.sku}</td>
                <td>{p.name}</td>
                <td className="num">{money(p.unitPrice)}</td>
                <td>{p.active ? 'active' : 'archived'}</td>
                <td className="actions">
                  <a href={`#/products/${p.id}`} aria-label={`Edit ${p.name}`}>
                    {editable ? 'Edit' : 'View'}
                  </a>
                  <a href={`#/history/PRODUCTS/${p.id}`} aria-label={`History of ${p.name}`}>
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

function NewProduct() {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ sku: '', name: '', unitPrice: '', description: '' });
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
    const input = { id: crypto.randomUUID(), ...form, description: form.description || null };
    const outcome = await enqueue(
      ProductsView_Create,
      { input },
      { label: `New product ${form.sku}`, record: `Product:${input.id}` },
    );
    const text = outcomeText(outcome, `Product ${form.sku} created.`);
    setMessage(text);
    if (text.ok) setForm({ sku: '', name: '', unitPrice: '', description: '' });
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

function ProductEditor({ id, editable }: { id: string; editable: boolean }) {
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
      {message && (
        <p className={message.ok ? 'ok' : 'error'} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </p>
      )}
      <p>
        <a href={`#/history/PRODUCTS/${p.id}`}>History of this product</a>
      </p>
    </section>
  );
}

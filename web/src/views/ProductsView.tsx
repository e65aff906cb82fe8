/** Products: list with search; create, edit and archive (managers and admins). */
import { useState } from 'react';
import { gql, useQuery } from 'urql';
import { money } from '../lib/format.ts';
import { canEditCatalog, type Session } from '../session.ts';
import { NewProduct } from './NewProduct.tsx';
import { PRODUCT, ProductEditor, type ProductRow } from './ProductEditor.tsx';

export const ProductsView_Query = gql`
  query ProductsView_Query($search: String) {
    products(search: $search, first: 200, includeArchived: true) {
      feedCursor
      edges { node { ${PRODUCT} } }
    }
  }
`;

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

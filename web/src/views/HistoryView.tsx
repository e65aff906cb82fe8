/**
 * The history of one record: who changed which fields when, with the old and new values, and (for
 * stock) the notes of the movements behind each change. Titled by the record's name.
 */
import { gql, useQuery } from 'urql';
import { dateTime, show } from '../lib/format.ts';

export const HistoryView_Query = gql`
  query HistoryView_Query($table: HistoryTable!, $id: ID!) {
    history(table: $table, id: $id) {
      op
      version
      actor
      at
      changedFields
      values
      notes
    }
  }
`;

export const HistoryView_Product = gql`
  query HistoryView_Product($id: ID!) {
    product(id: $id) {
      id
      name
      sku
    }
  }
`;

/** What a record is called: its name, number, code, email or SKU, from its newest row image. */
function recordName(values: Record<string, unknown> | null | undefined): string | null {
  for (const key of ['name', 'number', 'code', 'email', 'sku']) {
    const v = values?.[key];
    if (typeof v === 'string' && v) return v;
  }
  return null;
}

interface Entry {
  op: string;
  version: number | null;
  actor: string | null;
  at: string;
  changedFields: string[];
  values: Record<string, unknown> | null;
  notes?: string[];
}

const snake = (f: string) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (f: string) => f.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
const fieldValue = (values: Record<string, unknown> | null | undefined, f: string) =>
  values ? (values[f] ?? values[snake(f)] ?? values[camel(f)]) : undefined;

export function HistoryView({ table, id }: { table: string; id: string }) {
  const [{ data, error, fetching }] = useQuery({
    query: HistoryView_Query,
    variables: { table, id },
    requestPolicy: 'cache-and-network',
  });
  const entries: Entry[] = data?.history ?? [];
  const newest = [...entries].reverse().find((e) => e.values)?.values;
  const productId = typeof newest?.productId === 'string' ? newest.productId : null;
  const [{ data: productData }] = useQuery({
    query: HistoryView_Product,
    variables: { id: productId ?? '' },
    pause: !productId || Boolean(recordName(newest)),
  });
  const product = productData?.product as { name: string; sku: string } | null | undefined;
  const kind = table.toLowerCase().replace('_', ' ');
  const title =
    recordName(newest) ?? (product ? `${product.name} (${product.sku})` : null) ?? `${kind} ${id}`;
  return (
    <section aria-labelledby="history-title">
      <p>
        <button type="button" className="link" onClick={() => history.back()}>
          ← Back
        </button>
      </p>
      <h1 id="history-title">History of {title}</h1>
      <p className="muted">{kind}</p>
      {error && !data && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      {!fetching && entries.length === 0 && <p>No changes recorded.</p>}
      <ol className="history">
        {[...entries].reverse().map((e, i, all) => {
          const previous = all[i + 1];
          const fields = e.op === 'INSERT' ? [] : e.changedFields;
          return (
            <li key={`${e.version}-${e.at}-${e.op}`}>
              <p>
                <strong>{e.op === 'INSERT' ? 'Created' : e.op === 'DELETE' ? 'Deleted' : 'Changed'}</strong>
                {e.version !== null ? ` · version ${e.version}` : ''} · {dateTime(e.at)} · by {show(e.actor)}
              </p>
              {(e.notes ?? []).map((n) => (
                <p key={n} className="note">
                  Note: {n}
                </p>
              ))}
              {fields.length > 0 && (
                <table className="data compact">
                  <thead>
                    <tr>
                      <th scope="col">Field</th>
                      <th scope="col">Old</th>
                      <th scope="col">New</th>
                    </tr>
                  </thead>
                  <tbody>
                    {fields.map((f) => (
                      <tr key={f}>
                        <th scope="row">{camel(f)}</th>
                        <td>{show(fieldValue(previous?.values, f))}</td>
                        <td>{show(fieldValue(e.values, f))}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

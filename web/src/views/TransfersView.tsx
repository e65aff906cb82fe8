/**
 * Stock between branches, for managers and admins of the current branch: ask another branch for
 * stock; approve (all or part) or decline what other branches ask of this one; confirm receipt of
 * what is in transit. Live (the feed updates the rows on both branches' screens) and queued in
 * the outbox like every change, so it works offline too.
 */
import { type FormEvent, useMemo, useState } from 'react';
import { gql, useQuery } from 'urql';
import { dateTime } from '../lib/format.ts';
import { Errors_Fragment, outcomeText } from '../operations.ts';
import { defineMutation, enqueue } from '../outbox/queue.ts';
import type { Session } from '../session.ts';
import { OutcomeMessage } from './OutcomeMessage.tsx';
import { type StockRow, StockView_Query } from './StockView.tsx';

const REQUEST = `id branchId fromBranchId branchName fromBranchName productId product { id name sku }
  quantity approvedQuantity inTransit status note responseNote version createdAt updatedAt updatedBy`;

export const TransfersView_Query = gql`
  query TransfersView_Query($branchId: ID!) {
    stockRequests(branchId: $branchId, first: 100) {
      feedCursor
      edges { node { ${REQUEST} } }
    }
    requestableBranches { id code name }
  }
`;

const step = (name: string, args: string, vars: string) =>
  defineMutation({
    name,
    document: gql`
      mutation TransfersView_${name}(${args}, $idempotencyKey: String) {
        ${name}(${vars}, idempotencyKey: $idempotencyKey) {
          __typename
          ... on Mutation${name[0].toUpperCase()}${name.slice(1)}Success { data { ${REQUEST} } }
          ...Errors_Fragment
        }
      }
      ${Errors_Fragment}
    `,
  });

export const TransfersView_Request = step(
  'requestStock',
  '$id: ID, $branchId: ID!, $fromBranchId: ID!, $productId: ID!, $quantity: Int!, $note: String',
  'id: $id, branchId: $branchId, fromBranchId: $fromBranchId, productId: $productId, quantity: $quantity, note: $note',
);
export const TransfersView_Approve = step(
  'approveStockRequest',
  '$id: ID!, $expectedVersion: Int!, $quantity: Int, $note: String',
  'id: $id, expectedVersion: $expectedVersion, quantity: $quantity, note: $note',
);
export const TransfersView_Decline = step(
  'declineStockRequest',
  '$id: ID!, $expectedVersion: Int!, $note: String',
  'id: $id, expectedVersion: $expectedVersion, note: $note',
);
export const TransfersView_Receive = step(
  'receiveStockRequest',
  '$id: ID!, $expectedVersion: Int!',
  'id: $id, expectedVersion: $expectedVersion',
);
export const TransfersView_Cancel = step(
  'cancelStockRequest',
  '$id: ID!, $expectedVersion: Int!',
  'id: $id, expectedVersion: $expectedVersion',
);

interface Request {
  id: string;
  branchId: string;
  fromBranchId: string;
  branchName: string;
  fromBranchName: string;
  product: { id: string; name: string; sku: string };
  quantity: number;
  approvedQuantity: number | null;
  inTransit: number;
  status: string;
  note: string | null;
  responseNote: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

const STATUS: Record<string, string> = {
  REQUESTED: 'Requested',
  DECLINED: 'Declined',
  IN_TRANSIT: 'In transit',
  RECEIVED: 'Received',
  CANCELLED: 'Cancelled',
};

type Message = { ok: boolean; text: string } | null;

export function TransfersView({ s }: { s: Session }) {
  const [{ data, error }] = useQuery({ query: TransfersView_Query, variables: { branchId: s.branchId } });
  const [{ data: stockData }] = useQuery({ query: StockView_Query, variables: { branchId: s.branchId } });
  const [message, setMessage] = useState<Message>(null);
  const requests: Request[] = data?.stockRequests.edges.map((e: { node: Request }) => e.node) ?? [];
  const incoming = requests.filter((r) => r.fromBranchId === s.branchId);
  const outgoing = requests.filter((r) => r.branchId === s.branchId);
  const others: { id: string; code: string; name: string }[] = (data?.requestableBranches ?? []).filter(
    (b: { id: string }) => b.id !== s.branchId,
  );
  const products: StockRow['product'][] = useMemo(
    () =>
      (stockData?.stockLevels.edges ?? [])
        .map((e: { node: StockRow }) => e.node.product)
        .filter((p: StockRow['product']) => p.active)
        .sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name)),
    [stockData],
  );

  async function run(
    def: ReturnType<typeof defineMutation>,
    r: Request,
    vars: Record<string, unknown>,
    label: string,
    done: string,
  ) {
    const outcome = await enqueue(
      def,
      { id: r.id, expectedVersion: r.version, ...vars },
      { label, record: `StockRequest:${r.id}` },
    );
    setMessage(outcomeText(outcome, done));
  }

  return (
    <section aria-labelledby="transfers-title">
      <h1 id="transfers-title">Transfers</h1>
      {error && !data && (
        <p className="error" role="alert">
          {error.message}
        </p>
      )}
      <AskForm s={s} branches={others} products={products} onMessage={setMessage} />
      <OutcomeMessage message={message} />

      <h2>Asked of this branch</h2>
      {incoming.length === 0 ? (
        <p className="muted">No other branch has asked for stock.</p>
      ) : (
        <ul className="requests" aria-label="Asked of this branch">
          {incoming.map((r) => (
            <li key={r.id} data-status={r.status} aria-label={`${r.branchName} asks for ${r.product.name}`}>
              <RequestLine r={r} other={r.branchName} />
              {r.status === 'REQUESTED' && (
                <Approve
                  r={r}
                  onApprove={(quantity) =>
                    run(
                      TransfersView_Approve,
                      r,
                      { quantity },
                      `Ship ${quantity} × ${r.product.name} to ${r.branchName}`,
                      `Shipped ${quantity} × ${r.product.name}: in transit.`,
                    )
                  }
                  onDecline={() =>
                    run(
                      TransfersView_Decline,
                      r,
                      {},
                      `Decline ${r.branchName}'s request for ${r.product.name}`,
                      'Request declined.',
                    )
                  }
                />
              )}
            </li>
          ))}
        </ul>
      )}

      <h2>Asked by this branch</h2>
      {outgoing.length === 0 ? (
        <p className="muted">This branch has not asked for stock.</p>
      ) : (
        <ul className="requests" aria-label="Asked by this branch">
          {outgoing.map((r) => (
            <li
              key={r.id}
              data-status={r.status}
              aria-label={`Request of ${r.product.name} from ${r.fromBranchName}`}
            >
              <RequestLine r={r} other={r.fromBranchName} />
              {r.status === 'IN_TRANSIT' && (
                <button
                  type="button"
                  className="primary"
                  onClick={() =>
                    run(
                      TransfersView_Receive,
                      r,
                      {},
                      `Receive ${r.approvedQuantity} × ${r.product.name} from ${r.fromBranchName}`,
                      `Received ${r.approvedQuantity} × ${r.product.name}.`,
                    )
                  }
                >
                  Confirm receipt
                </button>
              )}
              {r.status === 'REQUESTED' && (
                <button
                  type="button"
                  onClick={() =>
                    run(
                      TransfersView_Cancel,
                      r,
                      {},
                      `Cancel request for ${r.product.name}`,
                      'Request cancelled.',
                    )
                  }
                >
                  Cancel request
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function RequestLine({ r, other }: { r: Request; other: string }) {
  const shipped = r.approvedQuantity !== null && r.approvedQuantity !== r.quantity;
  return (
    <p>
      <strong>{r.product.name}</strong> <small className="muted">{r.product.sku}</small> · {r.quantity} asked
      {shipped ? `, ${r.approvedQuantity} approved` : ''} · {other} ·{' '}
      <span className="status" data-testid="request-status">
        {STATUS[r.status] ?? r.status}
      </span>
      {r.inTransit > 0 && <span> · {r.inTransit} in transit</span>} · {dateTime(r.updatedAt)}
      {r.note && <span className="muted"> · “{r.note}”</span>}
      {r.responseNote && <span className="muted"> · reply: “{r.responseNote}”</span>}
      {' · '}
      <a
        href={`#/history/STOCK_REQUESTS/${r.id}`}
        aria-label={`History of the request for ${r.product.name}`}
      >
        History
      </a>
    </p>
  );
}

function Approve({
  r,
  onApprove,
  onDecline,
}: {
  r: Request;
  onApprove: (quantity: number) => void;
  onDecline: () => void;
}) {
  const [quantity, setQuantity] = useState(String(r.quantity));
  const n = Number(quantity);
  const valid = Number.isInteger(n) && n >= 1 && n <= r.quantity;
  return (
    <div className="inline">
      <label>
        Ship
        <input
          type="number"
          min={1}
          max={r.quantity}
          value={quantity}
          onChange={(e) => setQuantity(e.target.value)}
        />
      </label>
      <button type="button" className="primary" disabled={!valid} onClick={() => onApprove(n)}>
        Approve
      </button>
      <button type="button" onClick={onDecline}>
        Decline
      </button>
    </div>
  );
}

function AskForm({
  s,
  branches,
  products,
  onMessage,
}: {
  s: Session;
  branches: { id: string; code: string; name: string }[];
  products: StockRow['product'][];
  onMessage: (m: Message) => void;
}) {
  const [form, setForm] = useState({ fromBranchId: '', productId: '', quantity: '1', note: '' });
  const bind = (k: keyof typeof form) => ({
    value: form[k],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value })),
  });
  async function submit(e: FormEvent) {
    e.preventDefault();
    const product = products.find((p) => p.id === form.productId);
    const from = branches.find((b) => b.id === form.fromBranchId);
    const id = crypto.randomUUID();
    const quantity = Number(form.quantity);
    const outcome = await enqueue(
      TransfersView_Request,
      {
        id,
        branchId: s.branchId,
        fromBranchId: form.fromBranchId,
        productId: form.productId,
        quantity,
        note: form.note || null,
      },
      {
        label: `Ask ${from?.code ?? ''} for ${quantity} × ${product?.name ?? 'item'}`,
        record: `StockRequest:${id}`,
      },
    );
    const text = outcomeText(
      outcome,
      `Asked ${from?.name ?? 'the branch'} for ${quantity} × ${product?.name}.`,
    );
    onMessage(text);
    if (text.ok) setForm((f) => ({ ...f, quantity: '1', note: '' }));
  }
  return (
    <form className="edit create" onSubmit={submit} aria-label="Ask another branch">
      <h2>Ask another branch for stock</h2>
      <div className="field">
        <label>
          From branch
          <select required {...bind('fromBranchId')}>
            <option value="">Choose a branch</option>
            {branches.map((b) => (
              <option key={b.id} value={b.id}>
                {b.code} · {b.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="field">
        <label>
          Product
          <select required {...bind('productId')}>
            <option value="">Choose a product</option>
            {products.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} ({p.sku})
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="field">
        <label>
          Quantity
          <input type="number" min={1} required {...bind('quantity')} />
        </label>
      </div>
      <div className="field">
        <label>
          Note <input maxLength={500} {...bind('note')} />
        </label>
      </div>
      <div className="buttons">
        <button type="submit" className="primary">
          Ask for stock
        </button>
      </div>
    </form>
  );
}

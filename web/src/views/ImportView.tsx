/**
 * Import (admins): upload CSV exports, see the dry run's report (what would be created, updated,
 * unchanged, skipped and why), correct the suggested mapping if needed, confirm, and watch the
 * import's progress; open screens show the imported rows arrive through the change feed. Online
 * only: the files go straight to the server (previewImport, startImport), never to the outbox.
 */
import { useEffect, useState } from 'react';
import { session } from '../session.ts';
import { CSRF_HEADERS } from '../transport.ts';
import { OutcomeMessage } from './OutcomeMessage.tsx';

const COUNTS = 'counts { record created updated unchanged skipped }';
const PREVIEW = `mutation ImportView_Preview($input: ImportInput!) {
  previewImport(input: $input) {
    __typename
    ... on MutationPreviewImportSuccess { data { ${COUNTS} skipped { record location key reason } conflicts report mapping planHash } }
    ... on Error { message }
  }
}`;
const START = `mutation ImportView_Start($input: ImportInput!, $planHash: String!) {
  startImport(input: $input, planHash: $planHash) {
    __typename
    ... on MutationStartImportSuccess { data { id status done total } }
    ... on Error { message }
  }
}`;
const RUN = `query ImportView_Run($id: ID!) { importRun(id: $id) { id status done total ${COUNTS} report error } }`;

interface Count {
  record: string;
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
}
interface Preview {
  counts: Count[];
  skipped: { record: string; location: string; key: string; reason: string }[];
  conflicts: number;
  report: string;
  mapping: unknown;
  planHash: string;
}
interface Run {
  id: string;
  status: string;
  done: number;
  total: number;
  counts: Count[] | null;
  report: string | null;
  error: string | null;
}
interface UploadFile {
  name: string;
  contentBase64: string;
}

async function gql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${session.get()?.token ?? ''}`,
      ...CSRF_HEADERS,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  return body.data as T;
}

async function base64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let out = '';
  for (let i = 0; i < bytes.length; i += 0x8000) out += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(out);
}

function CountsTable({ counts, dry }: { counts: Count[]; dry: boolean }) {
  const would = dry ? 'Would be ' : '';
  return (
    <div className="table-wrap">
      <table className="data compact" data-testid="import-counts">
        <thead>
          <tr>
            <th scope="col">Record</th>
            <th scope="col" className="num">
              {would}
              {dry ? 'created' : 'Created'}
            </th>
            <th scope="col" className="num">
              {would}
              {dry ? 'updated' : 'Updated'}
            </th>
            <th scope="col" className="num">
              Unchanged
            </th>
            <th scope="col" className="num">
              Skipped
            </th>
          </tr>
        </thead>
        <tbody>
          {counts.map((c) => (
            <tr key={c.record} data-record={c.record}>
              <th scope="row">{c.record}</th>
              <td className="num">{c.created}</td>
              <td className="num">{c.updated}</td>
              <td className="num">{c.unchanged}</td>
              <td className="num">{c.skipped}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Report({ text, name }: { text: string; name: string }) {
  const [url, setUrl] = useState('');
  useEffect(() => {
    const u = URL.createObjectURL(new Blob([text], { type: 'text/markdown' }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [text]);
  return (
    <details>
      <summary>Full report</summary>
      <p>
        {url && (
          <a href={url} download={name}>
            Download the report (Markdown)
          </a>
        )}
      </p>
      <pre style={{ maxHeight: '24rem', overflow: 'auto', whiteSpace: 'pre-wrap' }}>{text}</pre>
    </details>
  );
}

export function ImportView() {
  const [files, setFiles] = useState<UploadFile[]>([]);
  const [mapping, setMapping] = useState('');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [run, setRun] = useState<Run | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  const input = () => ({ files, ...(mapping.trim() ? { mapping: JSON.parse(mapping) } : {}) });

  async function choose(list: FileList | null) {
    setPreview(null);
    setRun(null);
    setMessage(null);
    setMapping('');
    setFiles(
      await Promise.all(
        [...(list ?? [])].map(async (f) => ({ name: f.name, contentBase64: await base64(f) })),
      ),
    );
  }

  async function doPreview() {
    setBusy(true);
    setMessage(null);
    setRun(null);
    try {
      const r = await gql<{ previewImport: { __typename: string; message?: string; data?: Preview } }>(
        PREVIEW,
        {
          input: input(),
        },
      );
      if (!r.previewImport.data) throw new Error(r.previewImport.message ?? 'The preview failed');
      setPreview(r.previewImport.data);
      setMapping(JSON.stringify(r.previewImport.data.mapping, null, 2));
    } catch (err) {
      setPreview(null);
      setMessage({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  }

  async function doImport() {
    if (!preview) return;
    setBusy(true);
    setMessage(null);
    try {
      const r = await gql<{ startImport: { message?: string; data?: Run } }>(START, {
        input: input(),
        planHash: preview.planHash,
      });
      if (!r.startImport.data) throw new Error(r.startImport.message ?? 'The import did not start');
      let current = r.startImport.data;
      setRun(current);
      while (current.status === 'running') {
        await new Promise((res) => setTimeout(res, 400));
        current = (await gql<{ importRun: Run }>(RUN, { id: current.id })).importRun;
        setRun(current);
      }
      setMessage(
        current.status === 'done'
          ? { ok: true, text: 'Import finished.' }
          : { ok: false, text: `The import ${current.status}: ${current.error ?? ''}` },
      );
    } catch (err) {
      setMessage({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  }

  const running = run?.status === 'running';
  return (
    <section aria-labelledby="import-title">
      <h1 id="import-title">Import</h1>
      <p>
        Move your data in from spreadsheet exports (CSV: products, stock per branch, customers). First a dry
        run shows what would change; nothing is written until you confirm. Importing the same files again
        changes nothing. For SQLite files and large exports use <code>npm run import</code> on the server.
      </p>
      <div className="form">
        <label>
          CSV files
          <input
            type="file"
            multiple
            accept=".csv,.tsv,.txt,text/csv"
            disabled={busy}
            onChange={(e) => void choose(e.target.files)}
          />
        </label>
        <details>
          <summary>Mapping (JSON)</summary>
          <p>
            Which file and column becomes which field. Leave it empty for a guess from the column names; after
            a preview it shows the mapping used, to correct and preview again.
          </p>
          <textarea
            aria-label="Mapping"
            rows={12}
            cols={80}
            value={mapping}
            onChange={(e) => {
              setMapping(e.target.value);
              setPreview(null);
            }}
          />
        </details>
        <p>
          <button type="button" disabled={busy || files.length === 0} onClick={() => void doPreview()}>
            Preview
          </button>{' '}
          <button type="button" disabled={busy || !preview || run !== null} onClick={() => void doImport()}>
            Import
          </button>
        </p>
      </div>
      <OutcomeMessage message={message} />
      {running && run && (
        <p role="status">
          <progress value={run.done} max={Math.max(run.total, 1)} aria-label="Import progress" /> {run.done}{' '}
          of {run.total} rows
        </p>
      )}
      {run?.counts && (
        <>
          <h2>Imported</h2>
          <CountsTable counts={run.counts} dry={false} />
          {run.report && <Report text={run.report} name="import-report.md" />}
        </>
      )}
      {preview && !run?.counts && (
        <>
          <h2>Dry run</h2>
          <CountsTable counts={preview.counts} dry={true} />
          {preview.conflicts > 0 && <p>{preview.conflicts} row(s) differ between copies: see the report.</p>}
          {preview.skipped.length > 0 && (
            <>
              <h3>Skipped rows</h3>
              <div className="table-wrap">
                <table className="data compact" data-testid="import-skipped">
                  <thead>
                    <tr>
                      <th scope="col">Where</th>
                      <th scope="col">Key</th>
                      <th scope="col">Reason</th>
                    </tr>
                  </thead>
                  <tbody>
                    {preview.skipped.map((s) => (
                      <tr key={`${s.record}:${s.location}`}>
                        <td>{s.location}</td>
                        <td>{s.key}</td>
                        <td>{s.reason}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )}
          <Report text={preview.report} name="import-dry-run.md" />
        </>
      )}
    </section>
  );
}

/**
 * An edit form for one versioned record. Only the fields the user touches are sent, with the
 * version the user started from and the values they saw (the base): a conflict with another
 * user's edit is then merged by the outbox or resolved in the conflict dialog. Fields the user
 * does not touch follow the live record; queued edits not yet sent are shown as pending.
 */
import { type FormEvent, useState } from 'react';
import { show } from '../lib/format.ts';
import { useStore } from '../lib/store.ts';
import { outcomeText } from '../operations.ts';
import { sameValue } from '../outbox/merge.ts';
import { enqueue, type MutationDef, outboxItems, pendingPatch } from '../outbox/queue.ts';
import { OutcomeMessage } from './OutcomeMessage.tsx';

export interface FieldSpec {
  name: string;
  label: string;
  type?: 'text' | 'email' | 'tel' | 'decimal';
  multiline?: boolean;
  required?: boolean;
  maxLength?: number;
}

type Row = { id: string; version: number; [field: string]: unknown };

export function EditForm(props: {
  typename: string;
  title: string;
  record: Row;
  fields: FieldSpec[];
  update: MutationDef;
}) {
  const { typename, title, record, fields, update } = props;
  const recordKey = `${typename}:${record.id}`;
  useStore(outboxItems);
  const pending = pendingPatch(recordKey);
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [base, setBase] = useState<Record<string, unknown>>({});
  const [startVersion, setStartVersion] = useState<number | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const shown = (f: string) => (f in pending ? pending[f] : record[f]);
  const value = (f: string) => (f in draft ? draft[f] : String(shown(f) ?? ''));

  function change(f: string, v: string) {
    setMessage(null);
    if (!(f in base)) setBase((b) => ({ ...b, [f]: shown(f) ?? null }));
    if (startVersion === null) setStartVersion(record.version);
    setDraft((d) => ({ ...d, [f]: v }));
  }

  async function save(e: FormEvent) {
    e.preventDefault();
    const patch: Record<string, unknown> = {};
    for (const spec of fields) {
      const f = spec.name;
      if (!(f in draft)) continue;
      const v = draft[f].trim();
      const next = v === '' && !spec.required ? null : v;
      if (!sameValue(next, base[f])) patch[f] = next;
    }
    if (Object.keys(patch).length === 0) {
      setDraft({});
      setBase({});
      setStartVersion(null);
      setMessage({ ok: true, text: 'Nothing to save.' });
      return;
    }
    setBusy(true);
    const outcome = await enqueue(
      update,
      { id: record.id, expectedVersion: startVersion ?? record.version, patch },
      {
        label: `${title} (${fields
          .filter((spec) => spec.name in patch)
          .map((spec) => spec.label.toLowerCase())
          .join(', ')})`,
        record: recordKey,
        base: Object.fromEntries(Object.keys(patch).map((f) => [f, base[f] ?? null])),
      },
    );
    setBusy(false);
    const text = outcomeText(outcome, 'Saved.');
    setMessage(text);
    if (outcome.status !== 'failed') {
      setDraft({});
      setBase({});
      setStartVersion(null);
    }
  }

  return (
    <form className="edit" onSubmit={save} aria-label={`Edit ${title}`}>
      {fields.map((spec) => {
        const id = `${typename}-${spec.name}`;
        const isPending = spec.name in pending && !(spec.name in draft);
        const common = {
          id,
          name: spec.name,
          value: value(spec.name),
          required: spec.required,
          maxLength: spec.maxLength,
          onChange: (e: { target: { value: string } }) => change(spec.name, e.target.value),
        };
        return (
          <div className="field" key={spec.name}>
            <label htmlFor={id}>
              {spec.label}
              {isPending && <span className="pending-tag"> (waiting to be sent)</span>}
            </label>
            {spec.multiline ? (
              <textarea rows={3} {...common} />
            ) : (
              <input
                type={spec.type === 'decimal' ? 'text' : (spec.type ?? 'text')}
                inputMode={spec.type === 'decimal' ? 'decimal' : undefined}
                pattern={spec.type === 'decimal' ? '\\d{1,12}(\\.\\d{1,2})?' : undefined}
                {...common}
              />
            )}
          </div>
        );
      })}
      <p className="muted">
        Version {record.version}
        {record.updatedBy ? ` · last changed by ${show(record.updatedBy)}` : ''}
      </p>
      <OutcomeMessage message={message} />
      <div className="buttons">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}

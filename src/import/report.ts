/**
 * The import report, in Markdown: how each source was read, counts per record type (created,
 * updated, unchanged, skipped; "would be" for a dry run), every update with the fields it
 * changes, every skipped row with its reason and source location, and every conflict between
 * copies side by side with each copy's updated_at / updated_by and what was decided.
 */
import type { RecordType } from './mapping.ts';
import { type Counts, countsOf, type Plan } from './plan.ts';

export interface ReportInfo {
  dryRun: boolean;
  actor: string;
  sources: { name: string; kind: string; notes: string[] }[];
  mapping: string;
  startedAt: Date;
  finishedAt: Date;
  /** Set when the run stopped early (the rows before it are imported). */
  error?: string;
}

const LABEL: Record<RecordType, string> = {
  branches: 'branches',
  products: 'products',
  customers: 'customers',
  stock: 'stock levels',
  orders: 'orders',
  orderLines: 'order lines',
};

const cell = (v: unknown) =>
  v === null || v === undefined || v === ''
    ? '—'
    : String(v)
        .replace(/\|/g, '\\|')
        .replace(/\s*\n\s*/g, ' ');

export function totalCounts(plan: Plan): Counts {
  const t: Counts = { created: 0, updated: 0, unchanged: 0, skipped: 0 };
  for (const c of Object.values(countsOf(plan))) {
    t.created += c.created;
    t.updated += c.updated;
    t.unchanged += c.unchanged;
    t.skipped += c.skipped;
  }
  return t;
}

export function renderReport(plan: Plan, info: ReportInfo): string {
  const would = info.dryRun ? 'would be ' : '';
  const out: string[] = [];
  out.push(`# Import report${info.dryRun ? ' (dry run: nothing was changed)' : ''}`, '');
  out.push(`- started ${info.startedAt.toISOString()}, finished ${info.finishedAt.toISOString()}`);
  out.push(`- by ${info.actor}; mapping ${info.mapping} (namespace "${plan.namespace}")`);
  for (const s of info.sources) out.push(`- source ${s.name} (${s.kind})`);
  for (const s of info.sources) for (const n of s.notes) out.push(`  - ${n}`);
  if (info.error)
    out.push(
      '',
      `**The import stopped early:** ${info.error}. What is counted as created or updated below was written; run it again to continue.`,
    );
  out.push('', '## Counts', '');
  out.push(
    `| record | ${would}created | ${would}updated | unchanged | skipped |`,
    '| --- | ---: | ---: | ---: | ---: |',
  );
  const counts = countsOf(plan);
  for (const [type, c] of Object.entries(counts) as [RecordType, Counts][]) {
    out.push(`| ${LABEL[type]} | ${c.created} | ${c.updated} | ${c.unchanged} | ${c.skipped} |`);
  }
  const all = [...plan.items.values()].flat();
  const moves = (plan.items.get('stock') ?? []).filter(
    (i) => i.action !== 'skip' && i.action !== 'unchanged' && i.stock?.delta,
  );
  if (moves.length) {
    const units = moves.reduce((n, i) => n + (i.stock?.delta ?? 0), 0);
    out.push(
      '',
      `Stock: ${moves.length} IMPORT movement(s) ${would || ''}written, ${units >= 0 ? '+' : ''}${units} units in all.`,
    );
  }

  const updates = all.filter((i) => i.action === 'update' && i.values);
  if (updates.length) {
    out.push(
      '',
      `## Updates (${updates.length})`,
      '',
      '| record | source | key | fields |',
      '| --- | --- | --- | --- |',
    );
    for (const i of updates) {
      const fields = Object.entries(i.values ?? {}).map(([f, v]) => `${f} → ${v ?? '(empty)'}`);
      out.push(`| ${LABEL[i.type]} | ${cell(i.location)} | ${cell(i.key)} | ${cell(fields.join('; '))} |`);
    }
  }

  const skipped = all.filter((i) => i.action === 'skip');
  out.push('', `## Skipped rows (${skipped.length})`, '');
  if (skipped.length) {
    out.push('| record | source | key | reason |', '| --- | --- | --- | --- |');
    for (const i of skipped)
      out.push(`| ${LABEL[i.type]} | ${cell(i.location)} | ${cell(i.key)} | ${cell(i.reason)} |`);
  } else out.push('None.');

  out.push('', `## Conflicts between copies (${plan.conflicts.length})`, '');
  if (plan.conflicts.length === 0) out.push('None.');
  for (const c of plan.conflicts) {
    out.push(`### ${LABEL[c.type]} ${c.key}`, '');
    out.push(
      `| | ${c.versions.map((v) => cell(v.copy)).join(' | ')} |`,
      `| --- |${' --- |'.repeat(c.versions.length)}`,
    );
    out.push(`| where | ${c.versions.map((v) => cell(v.location)).join(' | ')} |`);
    out.push(`| updated_at | ${c.versions.map((v) => cell(v.updatedAt)).join(' | ')} |`);
    out.push(`| updated_by | ${c.versions.map((v) => cell(v.updatedBy)).join(' | ')} |`);
    for (const f of c.fields)
      out.push(`| **${f}** | ${c.versions.map((v) => cell(v.values[f])).join(' | ')} |`);
    out.push('', c.winner ? `Taken: **${c.winner}** (${c.why}).` : `Not taken (skipped): ${c.why}.`, '');
  }

  if (plan.notes.length) {
    out.push('', '## How the sources were read', '');
    for (const n of plan.notes) out.push(`- ${n}`);
  }
  return `${out.join('\n')}\n`;
}

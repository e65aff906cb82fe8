import { builder } from '../builder.ts';
import { ForbiddenError, IdempotencyKeyReusedError, ValidationError } from '../errors.ts';
import {
  getImportRun,
  type ImportCount,
  type ImportInput,
  type ImportPreview,
  type ImportRunView,
  previewImport,
  startImport,
} from '../resolvers/import.ts';

const ImportFileInput = builder.inputType('ImportFileInput', {
  fields: (t) => ({
    name: t.string({
      required: true,
      description: 'The file name; the table is named after it (products.csv -> products).',
    }),
    contentBase64: t.string({ required: true, description: 'The file, base64 (its encoding is detected).' }),
  }),
});

const ImportInputRef = builder.inputType('ImportInput', {
  description:
    'CSV files to import, with a mapping (JSON; see README "Move in"), or none for the suggested one.',
  fields: (t) => ({
    files: t.field({ type: [ImportFileInput], required: true }),
    mapping: t.field({ type: 'JSON' }),
    delimiter: t.string({ description: 'One of , ; | or a tab; detected when omitted.' }),
    encoding: t.string({ description: 'utf-8, windows-1252, ...; detected when omitted.' }),
  }),
});

const ImportCountRef = builder.objectRef<ImportCount>('ImportCount').implement({
  description: 'What an import does (or would do) to one record type.',
  fields: (t) => ({
    record: t.exposeString('record'),
    created: t.exposeInt('created'),
    updated: t.exposeInt('updated'),
    unchanged: t.exposeInt('unchanged'),
    skipped: t.exposeInt('skipped'),
  }),
});

const ImportSkipRef = builder.objectRef<ImportPreview['skipped'][number]>('ImportSkip').implement({
  fields: (t) => ({
    record: t.exposeString('record'),
    location: t.exposeString('location', { description: 'File and line.' }),
    key: t.exposeString('key'),
    reason: t.exposeString('reason'),
  }),
});

const ImportPreviewRef = builder.objectRef<ImportPreview>('ImportPreview').implement({
  description: 'A dry run: what the import would do; nothing was changed.',
  fields: (t) => ({
    counts: t.field({ type: [ImportCountRef], resolve: (p) => p.counts }),
    skipped: t.field({
      type: [ImportSkipRef],
      description: 'The first 200 skipped rows (all are in the report).',
      resolve: (p) => p.skipped,
    }),
    conflicts: t.exposeInt('conflicts'),
    report: t.exposeString('report', { description: 'The full report, Markdown.' }),
    mapping: t.field({
      type: 'JSON',
      description: 'The mapping used (the suggested one when none was given).',
      resolve: (p) => p.mapping,
    }),
    planHash: t.exposeString('planHash', {
      description: 'Pass to startImport: it refuses when the data changed since.',
    }),
  }),
});

const ImportRunRef = builder.objectRef<ImportRunView>('ImportRun').implement({
  description: 'An import started from the web app.',
  fields: (t) => ({
    id: t.exposeID('id'),
    status: t.exposeString('status', { description: 'running, done, failed or interrupted.' }),
    done: t.exposeInt('done', { description: 'Rows written so far.' }),
    total: t.exposeInt('total', { description: 'Rows to write.' }),
    counts: t.field({ type: [ImportCountRef], nullable: true, resolve: (r) => r.counts }),
    report: t.exposeString('report', { nullable: true, description: 'Markdown, once finished.' }),
    error: t.exposeString('error', { nullable: true }),
    actor: t.exposeString('actor'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

const asInput = (i: {
  files: { name: string; contentBase64: string }[];
  mapping?: unknown;
  delimiter?: string | null;
  encoding?: string | null;
}): ImportInput => i;

builder.queryField('importRun', (t) =>
  t.field({
    type: ImportRunRef,
    nullable: true,
    description: 'An import started with startImport (admins); null for anybody else.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => getImportRun(String(args.id), ctx),
  }),
);

builder.mutationFields((t) => ({
  previewImport: t.field({
    type: ImportPreviewRef,
    description: 'Admins: a dry run of importing CSV files; changes nothing (so it needs no idempotencyKey).',
    errors: { types: [ValidationError, ForbiddenError] },
    args: { input: t.arg({ type: ImportInputRef, required: true }) },
    resolve: (_root, args, ctx) => previewImport(asInput(args.input), ctx),
  }),
  startImport: t.field({
    type: ImportRunRef,
    description: 'Admins: imports CSV files as previewed (planHash); follow it with importRun(id).',
    errors: { types: [ValidationError, ForbiddenError, IdempotencyKeyReusedError] },
    args: {
      input: t.arg({ type: ImportInputRef, required: true }),
      planHash: t.arg.string({ required: true }),
      idempotencyKey: t.arg.string(),
    },
    resolve: (_root, args, ctx) => startImport(asInput(args.input), args.planHash, ctx, args.idempotencyKey),
  }),
}));

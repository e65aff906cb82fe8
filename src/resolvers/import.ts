/**
 * The web app's import (admins only): CSV files uploaded as base64, a dry run that returns the
 * report, then the real run in the background of the server process, with its status, progress
 * and report in `import_runs` (so any server process answers `importRun`). The real run first
 * plans again and refuses to start when the plan differs from the preview the admin confirmed
 * (the data changed meanwhile): what runs is what was shown. Bounded by the request body limit
 * (MAX_BODY_BYTES); larger files go through `npm run import`.
 *
 * Not guaranteed: a run whose server process stops mid-way stays "running" until it is seen as
 * interrupted (no progress for 2 minutes); running it again continues it (imports are idempotent).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Viewer } from '../auth/viewer.ts';
import type { Context } from '../context.ts';
import { ForbiddenError, IdempotencyKeyReusedError, ValidationError } from '../errors.ts';
import { type Mapping, MappingError, parseMapping, RECORDS } from '../import/mapping.ts';
import type { Plan } from '../import/plan.ts';
import { runImport } from '../import/run.ts';
import { openCsvFiles, type SourceCopy } from '../import/sources.ts';
import { suggestMapping } from '../import/suggest.ts';
import { idempotencyOf, writeTx } from './tx.ts';
import { requireViewer } from './viewer.ts';

export interface ImportInput {
  files: { name: string; contentBase64: string }[];
  mapping?: unknown;
  delimiter?: string | null;
  encoding?: string | null;
}

export interface ImportCount {
  record: string;
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
}

export interface ImportPreview {
  counts: ImportCount[];
  skipped: { record: string; location: string; key: string; reason: string }[];
  conflicts: number;
  report: string;
  mapping: unknown;
  planHash: string;
}

export interface ImportRunView {
  id: string;
  status: string;
  done: number;
  total: number;
  counts: ImportCount[] | null;
  report: string | null;
  error: string | null;
  actor: string;
  createdAt: Date;
  finishedAt: Date | null;
}

const MAX_FILES = 20;
const SHOWN_SKIPS = 200;
const STALE_MS = 2 * 60_000;

function requireAdmin(ctx: Context): Viewer {
  const viewer = requireViewer(ctx);
  if (viewer.role !== 'ADMIN') throw new ForbiddenError('Only admins may import data');
  return viewer;
}

const invalid = (message: string, path = 'input') =>
  new ValidationError(message, [{ path: [path], message }]);

function prepare(input: ImportInput): { copies: SourceCopy[]; mapping: Mapping; shown: unknown } {
  if (input.files.length < 1 || input.files.length > MAX_FILES)
    throw invalid(`1 to ${MAX_FILES} files`, 'files');
  const files = input.files.map((f, i) => {
    if (f.name.length < 1 || f.name.length > 200 || /[/\\]/.test(f.name) || [...f.name].some((c) => c < ' '))
      throw invalid(
        'a file name of 1 to 200 characters without /, \\ or control characters',
        `files.${i}.name`,
      );
    if (!/^[A-Za-z0-9+/=\s]*$/.test(f.contentBase64))
      throw invalid('must be base64', `files.${i}.contentBase64`);
    return { name: f.name, bytes: Buffer.from(f.contentBase64, 'base64') };
  });
  const delimiter = input.delimiter || undefined;
  if (delimiter !== undefined && !/^[,;\t|]$/.test(delimiter)) throw invalid('one of , ; tab |', 'delimiter');
  try {
    const copies = openCsvFiles(files, { delimiter, encoding: input.encoding || undefined });
    const shown = input.mapping ?? suggestMapping(copies);
    return { copies, mapping: parseMapping(shown), shown };
  } catch (err) {
    if (err instanceof MappingError || err instanceof Error) throw invalid((err as Error).message, 'mapping');
    throw err;
  }
}

function countList(counts: Awaited<ReturnType<typeof runImport>>['counts']): ImportCount[] {
  return RECORDS.filter((r) => counts[r]).map((r) => ({
    record: r,
    ...(counts[r] as Omit<ImportCount, 'record'>),
  }));
}

/** A fingerprint of what a plan would do, to check that the real run does what the preview showed. */
export function planHash(plan: Plan): string {
  const h = createHash('sha256');
  for (const [type, items] of plan.items) {
    for (const i of items)
      h.update(
        JSON.stringify([type, i.key, i.action, i.reason ?? null, i.values ?? null, i.stock?.delta ?? null]),
      );
  }
  return h.digest('hex');
}

export async function previewImport(input: ImportInput, ctx: Context): Promise<ImportPreview> {
  const viewer = requireAdmin(ctx);
  const { copies, mapping, shown } = prepare(input);
  let hash = '';
  const result = await runImport({
    db: ctx.db,
    log: ctx.log,
    viewer,
    copies,
    mapping,
    mappingName: input.mapping ? 'given in the web app' : 'suggested from the column names',
    dryRun: true,
    onPlan: (plan) => {
      hash = planHash(plan);
    },
  }).catch((err) => {
    if (err instanceof MappingError) throw invalid(err.message, 'mapping');
    throw err;
  });
  const skipped = [...result.plan.items.values()].flat().filter((i) => i.action === 'skip');
  return {
    counts: countList(result.counts),
    skipped: skipped
      .slice(0, SHOWN_SKIPS)
      .map((i) => ({ record: i.type, location: i.location, key: i.key, reason: i.reason ?? '' })),
    conflicts: result.plan.conflicts.length,
    report: result.report,
    mapping: shown,
    planHash: hash,
  };
}

interface RunRow {
  id: string;
  status: string;
  done: number;
  total: number;
  counts: ImportCount[] | null;
  report: string | null;
  error: string | null;
  actor: string;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

function view(r: RunRow): ImportRunView {
  const stale = r.status === 'running' && Date.now() - r.updated_at.getTime() > STALE_MS;
  return {
    id: r.id,
    status: stale ? 'interrupted' : r.status,
    done: r.done,
    total: r.total,
    counts: r.counts,
    report: r.report,
    error: stale
      ? 'no progress for 2 minutes: the server may have stopped; run the import again to continue'
      : r.error,
    actor: r.actor,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}

export async function getImportRun(id: string, ctx: Context): Promise<ImportRunView | null> {
  const viewer = requireViewer(ctx);
  if (viewer.role !== 'ADMIN' || !/^[0-9a-f-]{36}$/i.test(id)) return null;
  const { rows } = await ctx.db.pool.query<RunRow>('SELECT * FROM import_runs WHERE id = $1', [id]);
  return rows[0] ? view(rows[0]) : null;
}

/**
 * Starts the real run: plans again, refuses when the plan differs from the preview (`planHash`),
 * records the run, returns it, and writes in the background, recording progress after each batch.
 */
/** A repeat of startImport (same idempotencyKey) found the first run: this one stops before writing. */
class Replayed extends Error {
  constructor(readonly runId: string) {
    super('replayed');
  }
}

export async function startImport(
  input: ImportInput,
  expectedHash: string,
  ctx: Context,
  idempotencyKey?: string | null,
): Promise<ImportRunView> {
  const viewer = requireAdmin(ctx);
  // With an idempotencyKey, a repeat (the first response was lost) returns the first run and
  // starts nothing; the key is stored with the run's record by writeTx (tx.ts), in one transaction.
  const op = { operation: 'startImport', args: { input, planHash: expectedHash }, idempotencyKey };
  const { key, hash } = idempotencyOf(ctx, op);
  if (key !== null) {
    const { rows } = await ctx.db.pool.query<{
      operation: string;
      request_hash: string;
      response: { id: string };
    }>('SELECT operation, request_hash, response FROM idempotency_keys WHERE user_id = $1 AND key = $2', [
      viewer.userId,
      key,
    ]);
    const first = rows[0];
    if (first) {
      if (first.operation !== op.operation || first.request_hash !== hash)
        throw new IdempotencyKeyReusedError(key);
      return (await getImportRun(first.response.id, ctx)) as ImportRunView;
    }
  }
  const { copies, mapping } = prepare(input);
  const pool = ctx.db.pool;
  let runId: string | null = null;
  let progress: Promise<unknown> = Promise.resolve();
  let started!: (id: string) => void;
  let refused!: (err: unknown) => void;
  const planned = new Promise<string>((resolve, reject) => {
    started = resolve;
    refused = reject;
  });
  const job = runImport({
    db: ctx.db,
    log: ctx.log,
    viewer,
    copies,
    mapping,
    mappingName: input.mapping ? 'given in the web app' : 'suggested from the column names',
    dryRun: false,
    onPlan: async (plan) => {
      if (planHash(plan) !== expectedHash) {
        throw invalid('The data changed since the preview: preview again before importing', 'planHash');
      }
      const total = [...plan.items.values()]
        .flat()
        .filter((i) => i.action === 'create' || i.action === 'update').length;
      const mine = randomUUID();
      const run = await writeTx(ctx, op, async (tx) => {
        await tx.$executeRaw`INSERT INTO import_runs (id, user_id, actor, status, total)
          VALUES (${mine}::uuid, ${viewer.userId}::uuid, ${viewer.email}, 'running', ${total})`;
        return { id: mine };
      });
      // A concurrent repeat with the same key got there first: follow its run, write nothing.
      if (run.id !== mine) throw new Replayed(run.id);
      runId = mine;
      started(runId);
    },
    onProgress: (done) => {
      const id = runId;
      if (!id) return;
      progress = progress.then(() =>
        pool
          .query('UPDATE import_runs SET done = $2, updated_at = now() WHERE id = $1', [id, done])
          .catch(() => {}),
      );
    },
  });
  job.then(
    async (result) => {
      await progress;
      await pool.query(
        `UPDATE import_runs SET status = $2, counts = $3, report = $4, error = $5, updated_at = now(), finished_at = now()
          WHERE id = $1`,
        [
          runId,
          result.error ? 'failed' : 'done',
          JSON.stringify(countList(result.counts)),
          result.report,
          result.error ?? null,
        ],
      );
      ctx.log.info({ module: 'import', runId, counts: result.counts }, 'import finished');
    },
    async (err) => {
      if (err instanceof Replayed) {
        started(err.runId);
        return;
      }
      if (!runId) {
        refused(err instanceof MappingError ? invalid(err.message, 'mapping') : err);
        return;
      }
      ctx.log.error({ module: 'import', runId, err }, 'import failed');
      await progress;
      await pool
        .query(
          `UPDATE import_runs SET status = 'failed', error = $2, updated_at = now(), finished_at = now() WHERE id = $1`,
          [runId, (err as Error).message],
        )
        .catch(() => {});
    },
  );
  const id = await planned;
  return (await getImportRun(id, ctx)) as ImportRunView;
}

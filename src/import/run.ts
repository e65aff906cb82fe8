/**
 * One import, start to end: merge the sources' copies, read what Branchline holds, plan, apply
 * (unless a dry run), report. Used by the CLI (scripts/import.ts) and the web app's upload
 * (src/resolvers/import.ts). A dry run only reads: it writes nothing, not even the import map.
 */
import type pg from 'pg';
import type { Viewer } from '../auth/viewer.ts';
import type { Db } from '../db.ts';
import type { Logger } from '../logger.ts';
import { applyPlan } from './apply.ts';
import type { Mapping } from './mapping.ts';
import { mergeSources } from './merge.ts';
import { countsOf, makePlan, type Plan } from './plan.ts';
import { renderReport } from './report.ts';
import type { SourceCopy } from './sources.ts';
import { loadState } from './state.ts';

export interface ImportOptions {
  db: Db;
  log: Logger;
  viewer: Viewer;
  copies: SourceCopy[];
  mapping: Mapping;
  /** How the report names the mapping (its file, or "suggested"). */
  mappingName: string;
  dryRun: boolean;
  batchSize?: number;
  /** Called once the plan is made, before anything is written. */
  onPlan?(plan: Plan): void | Promise<void>;
  onProgress?(done: number, total: number): void;
}

export interface ImportResult {
  plan: Plan;
  counts: ReturnType<typeof countsOf>;
  report: string;
  /** Set when the real run stopped early (what was written before stays; a re-run continues). */
  error?: string;
}

export async function runImport(opts: ImportOptions): Promise<ImportResult> {
  const startedAt = new Date();
  const merged = mergeSources(opts.copies, opts.mapping);
  const state = await loadState(opts.db.pool, opts.mapping.namespace);
  const plan = makePlan(merged, opts.mapping, state);
  await opts.onPlan?.(plan);
  let error: string | undefined;
  if (!opts.dryRun) {
    try {
      await applyPlan(plan, {
        db: opts.db,
        log: opts.log,
        viewer: opts.viewer,
        batchSize: opts.batchSize,
        onProgress: opts.onProgress,
      });
    } catch (err) {
      error = (err as Error).message;
      opts.log.error({ module: 'import', err }, 'import stopped early');
    }
  }
  const report = renderReport(plan, {
    dryRun: opts.dryRun,
    actor: opts.viewer.email,
    sources: opts.copies.map((c) => ({
      name: c.name,
      kind: c.kind === 'sqlite' ? 'SQLite' : 'CSV',
      notes: c.notes,
    })),
    mapping: opts.mappingName,
    startedAt,
    finishedAt: new Date(),
    error,
  });
  return { plan, counts: countsOf(plan), report, error };
}

export class ImporterError extends Error {
  override name = 'ImporterError';
}

/**
 * The user an import runs as: an active ADMIN (an import touches every branch), by email, or the
 * only active admin when none is named.
 */
export async function importer(pool: pg.Pool, email?: string): Promise<Viewer> {
  const { rows } = await pool.query<{ id: string; email: string; name: string; role: Viewer['role'] }>(
    `SELECT id, email, name, role FROM users WHERE active AND ($1::text IS NULL OR lower(email) = lower($1))
      ORDER BY email`,
    [email ?? null],
  );
  const admins = rows.filter((r) => r.role === 'ADMIN');
  if (email && rows.length === 0) throw new ImporterError(`no active user ${email}`);
  if (email && admins.length === 0)
    throw new ImporterError(`${email} is not an admin: imports are for admins`);
  if (admins.length !== 1) {
    throw new ImporterError(
      admins.length === 0
        ? 'no active admin user: create one first'
        : `several admins (${admins.map((a) => a.email).join(', ')}): say which with --as <email>`,
    );
  }
  const u = admins[0] as (typeof admins)[number];
  return { userId: u.id, email: u.email, name: u.name, role: 'ADMIN', branchIds: [], tokenId: '' };
}

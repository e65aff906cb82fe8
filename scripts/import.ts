/**
 * `npm run import -- <source>... [options]`: moves a shop's data in from SQLite files and CSV
 * exports (README "Move in"). Prints a progress bar and a summary; writes the Markdown report.
 *
 *   --mapping <file>          the mapping (JSON); see src/import/mapping.ts
 *   --suggest-mapping <file>  write a first guess of the mapping from the sources' names, and stop
 *   --dry-run                 plan and report, change nothing
 *   --report <file>           where the report goes (default import-report-<time>.md)
 *   --as <email>              the admin the import runs as (default: the only admin)
 *   --delimiter <c>, --encoding <name>   for CSV files (default: detected)
 *   --decimal <. or ,>        decimal separator of amounts (default: the mapping's, else auto)
 *   --batch-size <n>          rows per transaction (default 500)
 *   --verbose                 log at info level (default: warnings only)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { ConfigError, loadConfig } from '../src/config.ts';
import { askConflicts } from '../src/import/ask.ts';
import { openImportDatabase } from '../src/import/database.ts';
import { MappingError, parseMapping, RECORDS } from '../src/import/mapping.ts';
import { countsOf } from '../src/import/plan.ts';
import { ImporterError, importer, runImport } from '../src/import/run.ts';
import { openSources } from '../src/import/sources.ts';
import { suggestMapping } from '../src/import/suggest.ts';
import { createLogger } from '../src/logger.ts';

const out = (s: string) => process.stdout.write(`${s}\n`);

async function main(): Promise<number> {
  const { values: o, positionals: files } = parseArgs({
    allowPositionals: true,
    options: {
      mapping: { type: 'string' },
      'suggest-mapping': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      report: { type: 'string' },
      as: { type: 'string' },
      delimiter: { type: 'string' },
      encoding: { type: 'string' },
      decimal: { type: 'string' },
      'batch-size': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help || files.length === 0) {
    out(
      'usage: npm run import -- <shop.db | export.csv>... (--mapping <file> | --suggest-mapping <file>) [--dry-run]',
    );
    out(
      '       [--report <file>] [--as <admin email>] [--delimiter <c>] [--encoding <name>] [--decimal <.|,>] [--batch-size <n>]',
    );
    return files.length === 0 && !o.help ? 1 : 0;
  }
  const delimiter = o.delimiter === '\\t' || o.delimiter === 'tab' ? '\t' : o.delimiter;
  const copies = await openSources(files, { delimiter, encoding: o.encoding });
  for (const c of copies)
    out(`${c.name}: ${c.kind === 'sqlite' ? 'SQLite' : 'CSV'}, tables ${[...c.tables.keys()].join(', ')}`);

  if (o['suggest-mapping']) {
    await writeFile(o['suggest-mapping'], `${JSON.stringify(suggestMapping(copies), null, 2)}\n`);
    out(`A first mapping is in ${o['suggest-mapping']}: check each "$why", fix it, then run with --mapping.`);
    return 0;
  }
  if (!o.mapping)
    throw new MappingError('give --mapping <file>, or write a first one with --suggest-mapping <file>');
  const mapping = parseMapping(await readFile(o.mapping, 'utf8'));
  if (o.decimal) {
    if (o.decimal !== '.' && o.decimal !== ',') throw new MappingError('--decimal is "." or ","');
    mapping.decimal = o.decimal;
  }

  // copies.winner "ask" at a terminal: the person decides the rows that differ between copies.
  if (!o['dry-run'] && process.stdin.isTTY && process.stdout.isTTY) await askConflicts(copies, mapping);

  const config = loadConfig();
  const log = createLogger(o.verbose ? 'info' : 'warn');
  const { db, close } = await openImportDatabase(config, log);
  const bar = new cliProgress.SingleBar(
    {
      format: 'importing [{bar}] {percentage}% | {value}/{total} rows | {duration_formatted}',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  try {
    const viewer = await importer(db.pool, o.as);
    const result = await runImport({
      db,
      log,
      viewer,
      copies,
      mapping,
      mappingName: o.mapping,
      dryRun: o['dry-run'],
      batchSize: o['batch-size'] ? Number(o['batch-size']) : undefined,
      onPlan: (plan) => {
        if (!o['dry-run']) {
          const total = [...plan.items.values()]
            .flat()
            .filter((i) => i.action === 'create' || i.action === 'update').length;
          if (total > 0) bar.start(total, 0);
        }
      },
      onProgress: (done) => bar.update(done),
    });
    bar.stop();
    const reportFile =
      o.report ??
      `import-report-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}.md`;
    await writeFile(reportFile, result.report);

    const counts = countsOf(result.plan);
    const would = o['dry-run'] ? 'would be ' : '';
    out('');
    out(o['dry-run'] ? 'Dry run: nothing was changed.' : `Imported as ${viewer.email}.`);
    out(
      `${'record'.padEnd(12)} ${`${would}created`.padStart(18)} ${`${would}updated`.padStart(18)} ${'unchanged'.padStart(10)} ${'skipped'.padStart(8)}`,
    );
    for (const type of RECORDS) {
      const c = counts[type];
      if (!c) continue;
      out(
        `${type.padEnd(12)} ${String(c.created).padStart(18)} ${String(c.updated).padStart(18)} ${String(c.unchanged).padStart(10)} ${String(c.skipped).padStart(8)}`,
      );
    }
    const skipped = [...result.plan.items.values()].flat().filter((i) => i.action === 'skip');
    // A dry run lists every skipped row; a real run the first 10 (all are in the report).
    const shown = o['dry-run'] ? skipped.length : 10;
    for (const s of skipped.slice(0, shown)) out(`  skipped ${s.location}: ${s.reason}`);
    if (skipped.length > shown) out(`  ... and ${skipped.length - shown} more skipped rows (see the report)`);
    const open = result.plan.conflicts.filter((c) => !c.winner).length;
    if (result.plan.conflicts.length) {
      out(
        `${result.plan.conflicts.length} row(s) differ between copies; ${open} not decided (skipped): see the report.`,
      );
    }
    out(`Report: ${reportFile}`);
    if (result.error) {
      out(`The import stopped early: ${result.error}. Run it again to continue.`);
      return 2;
    }
    return 0;
  } finally {
    bar.stop();
    await close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof MappingError || err instanceof ImporterError || err instanceof ConfigError) {
      process.stderr.write(`import: ${err.message}\n`);
    } else {
      process.stderr.write(`import failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    }
    process.exit(1);
  },
);

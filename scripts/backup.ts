/**
 * `npm run backup -- [file]`: one consistent snapshot of the whole database into one compressed
 * file, while the server keeps running (README "Backups"). Without a file it goes into BACKUP_DIR
 * (`backups/` beside the data), named after the time. The file is read back and checked before
 * the summary says it is good; the run is recorded for the admins' backup status.
 *
 *   --verbose   log at info level (default: warnings only)
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { backupDirOf, backupFileName, recordBackupRunAt, runBackup } from '../src/backup/automatic.ts';
import { readBackup } from '../src/backup/format.ts';
import { openToolServer } from '../src/backup/server.ts';
import { formatBytes, out, progress } from '../src/backup/terminal.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: { verbose: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help || positionals.length > 1) {
    out('usage: npm run backup -- [file]   (default: BACKUP_DIR/branchline-<date>-<time>-manual.backup.gz)');
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  const log = createLogger(values.verbose ? 'info' : 'warn');
  const file = path.resolve(
    positionals[0] ?? path.join(backupDirOf(config) ?? process.cwd(), backupFileName('manual')),
  );
  const server = await openToolServer(config, log, { create: false });
  try {
    out(`Backing up ${server.description}`);
    out(`        to ${file}`);
    const bar = progress('rows');
    const run = await runBackup({
      url: server.url,
      kind: 'manual',
      file,
      log,
      onProgress: (p) => {
        // The rows are counted (and checksummed) in the snapshot first, then written.
        if (p.phase === 'checksums') {
          if (p.done === p.tables)
            bar.phase(`writing ${p.totalRows} rows of ${p.tables} tables`, p.totalRows);
          return;
        }
        bar.update(p.rows, p.table);
      },
    });
    bar.stop();
    await recordBackupRunAt(server.url, run, log);
    if (!run.ok) {
      out(`\nBackup FAILED: ${run.error}`);
      return 1;
    }
    const { header } = await readBackup(file);
    out('');
    out(
      `Backup written and verified (read back, every checksum matched) in ${((Date.now() - run.startedAt.getTime()) / 1000).toFixed(1)} s`,
    );
    out(`  file      ${file} (${formatBytes(run.sizeBytes ?? 0)})`);
    out(`  database  ${header.database}, ${header.server}, schema ${header.schemaVersion ?? 'none'}`);
    out(`  snapshot  ${header.createdAt}: ${run.tables} tables, ${run.rows} rows`);
    const width = Math.max(...header.tables.map((t) => t.name.length));
    for (const t of header.tables) out(`    ${t.name.padEnd(width)}  ${String(t.rows).padStart(9)}`);
    out(`Restore it with: npm run restore -- ${JSON.stringify(file)}`);
    return 0;
  } finally {
    await server.release();
  }
}

// Node exits with 0 when nothing is left to wait for: a step that never settled must not look like success.
process.on('beforeExit', () => {
  process.stderr.write('Stopped unexpectedly: a step never finished (a bug; run again with --verbose)\n');
  process.exit(1);
});

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(
      `${err instanceof ConfigError ? err.message : `Backup failed: ${err instanceof Error ? err.message : err}`}\n`,
    );
    process.exit(1);
  },
);

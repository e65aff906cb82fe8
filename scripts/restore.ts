/**
 * `npm run restore -- <file> [--database <name or URL>] [--replace]`: restores a backup made by
 * `npm run backup` or the automatic backups (README "Backups"). The file is checked in full
 * first; a damaged one, or one from a newer Branchline, is refused before anything changes.
 *
 *   (no --database)   the database Branchline runs on (DATABASE_URL, or the embedded one in
 *                     DATA_DIR, initialised if this is a new machine); it must be empty or missing
 *   --database <x>    another database: a name on the same server, or a postgres:// URL
 *   --replace         the target holds data: restore beside it and take its name; the current
 *                     one is kept as <name>_before_<time>. Stop Branchline first.
 *   --verbose         log at info level (default: warnings only)
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BackupFileError } from '../src/backup/format.ts';
import { RestoreError, restoreBackup } from '../src/backup/restore.ts';
import { openToolServer } from '../src/backup/server.ts';
import { formatBytes, out, progress } from '../src/backup/terminal.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';

const USAGE = 'usage: npm run restore -- <file> [--database <name or postgres:// URL>] [--replace]';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      database: { type: 'string' },
      replace: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help || positionals.length !== 1) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  const file = path.resolve(positionals[0] as string);
  const config = loadConfig();
  const log = createLogger(values.verbose ? 'info' : 'warn');
  const byUrl = values.database && /^postgres(ql)?:\/\//.test(values.database);
  const server = byUrl
    ? {
        url: values.database as string,
        urlFor: () => '',
        description: 'the database given',
        release: async () => {},
      }
    : await openToolServer(config, log, { create: true });
  try {
    const targetUrl = byUrl
      ? (values.database as string)
      : values.database
        ? server.urlFor(values.database)
        : server.url;
    const target = decodeURIComponent(new URL(targetUrl).pathname.slice(1));
    const size = await stat(file).then(
      (s) => formatBytes(s.size),
      () => 'not found',
    );
    out(`Restoring ${file} (${size})`);
    out(`     into database ${target} on ${server.description}`);
    const bar = progress('bytes');
    let phase = '';
    const result = await restoreBackup({
      file,
      targetUrl,
      replace: values.replace,
      log,
      onProgress: (p) => {
        const label =
          p.phase === 'checking'
            ? 'checking the file'
            : p.phase === 'loading'
              ? 'loading'
              : p.phase === 'verifying'
                ? 'comparing with the backup'
                : 'migrating';
        if (label !== phase) {
          phase = label;
          bar.phase(label, p.totalBytes);
        }
        bar.update(p.bytes, p.table ?? '');
      },
    });
    bar.stop();
    const h = result.header;
    out('');
    out(`Restored in ${(result.ms / 1000).toFixed(1)} s: every table matches the backup's snapshot.`);
    out(`  backup    made ${h.createdAt} from database ${h.database} (${h.server})`);
    out(
      `  schema    ${h.schemaVersion ?? 'none'}${result.migrated.length ? `, then migrated: ${result.migrated.join(', ')}` : ''}`,
    );
    out(`  database  ${result.database}: ${result.tables.length} tables, ${result.rows} rows`);
    const width = Math.max(...result.tables.map((t) => t.name.length));
    for (const t of result.tables) out(`    ${t.name.padEnd(width)}  ${String(t.rows).padStart(9)}`);
    if (result.previous) {
      out(`  previous  the data it replaced is kept as database ${result.previous}`);
      out(`            (drop it once you are satisfied: DROP DATABASE "${result.previous}")`);
    }
    out('');
    out('The change feed starts a new history: screens and integrations holding a cursor from before the');
    out('restore get CURSOR_EXPIRED and reload (the web app does so by itself). Sessions and API tokens are');
    out('as they were when the backup was made.');
    if (!values.database) out('Start Branchline with: npm start');
    else if (config.DATABASE_URL || byUrl)
      out(`To run Branchline on it, point DATABASE_URL at database ${target}.`);
    else
      out(
        `npm start uses database branchline, not ${target}: to run on this data, restore with --replace instead.`,
      );
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
    const known = err instanceof RestoreError || err instanceof BackupFileError;
    process.stderr.write(
      err instanceof ConfigError
        ? `${err.message}\n`
        : `${known ? `Restore refused: ${err.message}` : `Restore failed: ${err instanceof Error ? err.message : err}`}\n`,
    );
    if (!known && err instanceof Error && process.env.LOG_LEVEL === 'debug')
      process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);

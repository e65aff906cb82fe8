/**
 * The backup file: one gzip stream of text, readable with `zcat file | less`.
 *
 * ```
 * BRANCHLINE BACKUP
 * {header: format, version, createdAt, schemaVersion, migrations, tables (columns, rows, checksum)}
 * TABLE <name>
 * <the table's rows in PostgreSQL's COPY text format, one per line>
 * \.
 * END {"table", "rows", "sha256" of the rows' bytes}
 * ... one section per table, in the header's order ...
 * TRAILER {"sha256" of every byte before this line, "bytes", "tables", "rows"}
 * ```
 *
 * Guarantees of `readBackup` (every restore and every automatic backup's read-back use it):
 * - A file that is not gzip, is cut short, has a byte changed (gzip's CRC, each table's SHA-256,
 *   the trailer's SHA-256 over everything), has sections missing, added or out of order, or
 *   anything after the trailer is refused with a BackupFileError saying what is wrong.
 * - A file of a newer format version is refused before anything is read past its header.
 * - Row lines reach `onRows` only after the header was checked; the file as a whole is proven
 *   intact only when `readBackup` resolves, so a restore reads it once to check it before it
 *   reads it again to load it.
 */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';

export const FORMAT = 'branchline-backup';
export const FORMAT_VERSION = 1;
const MAGIC = 'BRANCHLINE BACKUP\n';
const END_OF_ROWS = '\\.\n';

export interface BackupTable {
  name: string;
  columns: string[];
  /** Rows in the snapshot (count(*)). */
  rows: number;
  /** tableChecksum() in the snapshot: compared with the restored table. */
  checksum: string;
}

export interface BackupHeader {
  format: typeof FORMAT;
  version: number;
  createdAt: string;
  /** The last migration applied to the database (name order), or null for none. */
  schemaVersion: string | null;
  migrations: { name: string; checksum: string }[];
  database: string;
  server: string;
  /** Tables of the database deliberately left out (operational, about this machine). */
  excluded: string[];
  tables: BackupTable[];
}

export interface BackupTrailer {
  sha256: string;
  bytes: number;
  tables: number;
  rows: number;
}

export class BackupFileError extends Error {
  override name = 'BackupFileError';
}

/** Writes a backup file: to `<file>.partial`, fsynced, then renamed into place by `finish`. */
export class BackupWriter {
  private readonly gzip = createGzip({ level: 6 });
  private readonly out;
  private readonly done: Promise<void>;
  private readonly total = createHash('sha256');
  private bytes = 0;
  private tables = 0;
  private rows = 0;
  private table: { name: string; hash: Hash; rows: number } | null = null;

  constructor(readonly file: string) {
    this.out = createWriteStream(`${file}.partial`, { mode: 0o600 });
    this.gzip.pipe(this.out);
    this.done = new Promise((resolve, reject) => {
      this.out.once('finish', resolve);
      this.out.on('error', reject);
      this.gzip.on('error', reject);
    });
    // Surfaced by `finish` (or `abort`); never an unhandled rejection meanwhile.
    this.done.catch(() => {});
  }

  private async write(data: Buffer | string): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.total.update(buf);
    this.bytes += buf.length;
    if (!this.gzip.write(buf)) {
      // `done` rejects when the file cannot be written (disk full, no such folder).
      await Promise.race([once(this.gzip, 'drain'), this.done]);
    }
  }

  async header(h: BackupHeader): Promise<void> {
    await this.write(MAGIC);
    await this.write(`${JSON.stringify(h)}\n`);
  }

  async beginTable(name: string): Promise<void> {
    this.table = { name, hash: createHash('sha256'), rows: 0 };
    await this.write(`TABLE ${name}\n`);
  }

  /** A chunk of COPY text output (rows end with a newline; chunks need not end on one). */
  async rowsChunk(chunk: Buffer): Promise<void> {
    const t = this.table as NonNullable<typeof this.table>;
    t.hash.update(chunk);
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) t.rows++;
    await this.write(chunk);
  }

  /** Ends the table's section; returns the rows written. */
  async endTable(): Promise<number> {
    const t = this.table as NonNullable<typeof this.table>;
    this.table = null;
    this.tables++;
    this.rows += t.rows;
    await this.write(END_OF_ROWS);
    await this.write(
      `END ${JSON.stringify({ table: t.name, rows: t.rows, sha256: t.hash.digest('hex') })}\n`,
    );
    return t.rows;
  }

  /** Writes the trailer, flushes, fsyncs and renames the file into place; returns its size. */
  async finish(): Promise<{ trailer: BackupTrailer; size: number }> {
    const trailer: BackupTrailer = {
      sha256: this.total.digest('hex'),
      bytes: this.bytes,
      tables: this.tables,
      rows: this.rows,
    };
    this.gzip.end(`TRAILER ${JSON.stringify(trailer)}\n`);
    await this.done;
    const handle = await open(`${this.file}.partial`, 'r+');
    let size: number;
    try {
      await handle.sync();
      size = (await handle.stat()).size;
    } finally {
      await handle.close();
    }
    await rename(`${this.file}.partial`, this.file);
    return { trailer, size };
  }

  /** Stops writing and removes the partial file. */
  async abort(): Promise<void> {
    this.gzip.destroy();
    this.out.destroy();
    await rm(`${this.file}.partial`, { force: true });
  }
}

/** The lines of a stream, each with its newline (the last may lack one), as Buffers. */
async function* lines(stream: Readable): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl + 1);
      start = nl + 1;
      if (parts.length) {
        parts.push(piece);
        const line = Buffer.concat(parts);
        parts = [];
        yield line;
      } else {
        yield piece;
      }
    }
    if (start < chunk.length) parts.push(chunk.subarray(start));
  }
  if (parts.length) yield Buffer.concat(parts);
}

export interface ReadHandlers {
  /** After the header was parsed and its format accepted; may throw to stop reading. */
  onHeader?(header: BackupHeader): void | Promise<void>;
  onTableStart?(table: BackupTable): void | Promise<void>;
  /** Whole row lines of the current table, a batch at a time. */
  onRows?(table: BackupTable, data: Buffer, rows: number): void | Promise<void>;
  onTableEnd?(table: BackupTable): void | Promise<void>;
  /** Decompressed bytes read so far (progress). */
  onProgress?(bytes: number): void;
}

const BATCH_BYTES = 256 * 1024;

/**
 * Reads and checks a backup file from start to end, handing its parts to `handlers`.
 * Resolves with the header and trailer once every check passed; throws BackupFileError otherwise.
 */
export async function readBackup(
  file: string,
  handlers: ReadHandlers = {},
): Promise<{ header: BackupHeader; trailer: BackupTrailer }> {
  const head = await readStart(file);
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    throw new BackupFileError(`${file} is not a Branchline backup (it is not a gzip file).`);
  }
  const input = createReadStream(file);
  const gunzip = createGunzip();
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  const total = createHash('sha256');
  let bytes = 0;
  let header: BackupHeader | undefined;
  let trailer: BackupTrailer | undefined;
  let index = 0;
  let table: BackupTable | undefined;
  let tableHash: Hash | undefined;
  let tableRows = 0;
  let awaitingEnd = false;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let batchRows = 0;
  let totalRows = 0;
  const damaged = (what: string) =>
    new BackupFileError(`${file} is damaged: ${what}. Use another copy of the backup.`);
  const flush = async () => {
    if (!batch.length || !table) return;
    const data = Buffer.concat(batch);
    const rows = batchRows;
    batch = [];
    batchBytes = 0;
    batchRows = 0;
    await handlers.onRows?.(table, data, rows);
  };

  try {
    for await (const line of lines(gunzip)) {
      if (trailer) throw damaged('there is data after its trailer');
      bytes += line.length;
      handlers.onProgress?.(bytes);
      if (table) {
        if (line.length === 3 && line[0] === 0x5c && line[1] === 0x2e && line[2] === 0x0a) {
          total.update(line);
          await flush();
          awaitingEnd = true;
          continue;
        }
        if (awaitingEnd) {
          total.update(line);
          const text = line.toString('utf8');
          if (!text.startsWith('END ')) throw damaged(`table ${table.name} does not end properly`);
          const end = parseJson<{ table: string; rows: number; sha256: string }>(text.slice(4), damaged);
          const sha = (tableHash as Hash).digest('hex');
          if (end.table !== table.name || end.rows !== tableRows || end.sha256 !== sha) {
            throw damaged(`the rows of table ${table.name} do not match their checksum`);
          }
          if (tableRows !== table.rows) {
            throw damaged(`table ${table.name} has ${tableRows} rows, its header says ${table.rows}`);
          }
          await handlers.onTableEnd?.(table);
          table = undefined;
          awaitingEnd = false;
          continue;
        }
        if (line[line.length - 1] !== 0x0a)
          throw damaged('it ends in the middle of a row (the file is incomplete)');
        total.update(line);
        (tableHash as Hash).update(line);
        tableRows++;
        totalRows++;
        batch.push(line);
        batchBytes += line.length;
        batchRows++;
        if (batchBytes >= BATCH_BYTES) await flush();
        continue;
      }
      const text = line.toString('utf8');
      if (!header) {
        if (index === 0) {
          if (text !== MAGIC) throw new BackupFileError(`${file} is not a Branchline backup.`);
          total.update(line);
          index++;
          continue;
        }
        total.update(line);
        header = parseJson<BackupHeader>(text, damaged);
        if (header.format !== FORMAT || !Array.isArray(header.tables)) {
          throw new BackupFileError(`${file} is not a Branchline backup (unknown header).`);
        }
        if (header.version > FORMAT_VERSION) {
          throw new BackupFileError(
            `${file} was written by a newer version of Branchline (backup format ${header.version}; this one reads format ${FORMAT_VERSION}). Update Branchline, then restore again.`,
          );
        }
        await handlers.onHeader?.(header);
        index = 0;
        continue;
      }
      if (text.startsWith('TABLE ')) {
        total.update(line);
        const name = text.slice(6).replace(/\n$/, '');
        const expected = header.tables[index];
        if (!expected || expected.name !== name) {
          throw damaged(
            `table ${name} is not the one its header announces next (${expected?.name ?? 'none'})`,
          );
        }
        index++;
        table = expected;
        tableHash = createHash('sha256');
        tableRows = 0;
        await handlers.onTableStart?.(table);
        continue;
      }
      if (text.startsWith('TRAILER ')) {
        const t = parseJson<BackupTrailer>(text.slice(8), damaged);
        if (t.sha256 !== total.digest('hex') || t.bytes !== bytes - line.length || t.rows !== totalRows) {
          throw damaged('its contents do not match the checksum in its trailer');
        }
        if (index !== header.tables.length || t.tables !== index) {
          throw damaged(`it holds ${index} of the ${header.tables.length} tables its header lists`);
        }
        trailer = t;
        continue;
      }
      throw damaged('unexpected content between tables');
    }
  } catch (err) {
    input.destroy();
    gunzip.destroy();
    if (err instanceof BackupFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BackupFileError(`${file} does not exist.`);
    if (code === 'Z_BUF_ERROR') throw damaged('it is incomplete (the compressed data ends early)');
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw damaged(`its compressed data is corrupt (${(err as Error).message})`);
    }
    throw err;
  }
  if (!header) throw damaged('it has no header (the file is empty or incomplete)');
  if (!trailer) throw damaged('it has no trailer: the file is incomplete (a copy that was cut off?)');
  return { header, trailer };
}

function parseJson<T>(text: string, damaged: (what: string) => Error): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw damaged('a header or checksum line is not readable');
  }
}

async function readStart(file: string): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new BackupFileError(`${file} does not exist.`);
    throw err;
  }
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await handle.read(buf, 0, 2, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

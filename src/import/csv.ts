/**
 * Reads a CSV export (csv-parse): a header row, then one record per row. Detected unless given:
 * the encoding (a UTF-8 or UTF-16 byte-order mark; otherwise UTF-8 when the bytes are valid
 * UTF-8, else Windows-1252, the usual encoding of spreadsheets saved on Windows in Western
 * Europe) and the delimiter (the one of `,` `;` tab `|` that splits the header and the first rows
 * into the same number of fields). Decimal commas are handled where amounts are read
 * (values.ts). What was detected is noted, so the report says how the file was read.
 */
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import type { SourceCopy, SourceTable } from './sources.ts';
import { decodeText } from './values.ts';

export interface CsvOptions {
  delimiter?: string;
  /** Any encoding iconv-lite knows (utf-8, windows-1252, latin1, utf-16le, ...); default: detected. */
  encoding?: string;
}

const CANDIDATES = [',', ';', '\t', '|'];

/** Counts each candidate outside double quotes, per line. */
function countOutsideQuotes(line: string, ch: string): number {
  let inQuotes = false;
  let n = 0;
  for (const c of line) {
    if (c === '"') inQuotes = !inQuotes;
    else if (c === ch && !inQuotes) n++;
  }
  return n;
}

export function detectDelimiter(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .slice(0, 20);
  let best = ',';
  let bestScore = -1;
  for (const ch of CANDIDATES) {
    const counts = lines.map((l) => countOutsideQuotes(l, ch));
    const header = counts[0] ?? 0;
    if (header === 0) continue;
    const consistent = counts.filter((c) => c === header).length / counts.length;
    const score = consistent * 1000 + header;
    if (score > bestScore) {
      best = ch;
      bestScore = score;
    }
  }
  return best;
}

export function decodeCsv(bytes: Uint8Array, encoding?: string): { text: string; encoding: string } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (encoding) return { text: iconv.decode(buf, encoding, { stripBOM: true }), encoding };
  if (buf[0] === 0xff && buf[1] === 0xfe)
    return { text: iconv.decode(buf, 'utf-16le'), encoding: 'utf-16le' };
  if (buf[0] === 0xfe && buf[1] === 0xff)
    return { text: iconv.decode(buf, 'utf-16be'), encoding: 'utf-16be' };
  return decodeText(buf);
}

const SHOWN: Record<string, string> = { '\t': 'tab', ',': '","', ';': '";"', '|': '"|"' };

export function readCsv(bytes: Uint8Array, name: string, file: string, opts: CsvOptions = {}): SourceCopy {
  if (opts.encoding && !iconv.encodingExists(opts.encoding)) {
    throw new Error(`unknown encoding "${opts.encoding}"`);
  }
  const { text, encoding } = decodeCsv(bytes, opts.encoding);
  const delimiter = opts.delimiter ?? detectDelimiter(text);
  const records = parse(text, {
    delimiter,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    info: true,
  }) as unknown as { record: string[]; info: { lines: number } }[];
  const header = (records[0]?.record ?? []).map((h) => h.replace(/[\s\u00a0]+/g, ' ').trim());
  const columns: string[] = [];
  for (const [i, h] of header.entries()) {
    let c = h || `column_${i + 1}`;
    for (let n = 2; columns.includes(c); n++) c = `${h || `column_${i + 1}`}_${n}`;
    columns.push(c);
  }
  const rows: SourceTable['rows'] = records.slice(1).map(({ record, info }) => {
    const values: Record<string, unknown> = {};
    for (const [i, c] of columns.entries()) values[c] = record[i] ?? null;
    return { values, location: `${name}:line ${info.lines}` };
  });
  const tableName = name
    .split('/')
    .pop()
    ?.replace(/\.(csv|tsv|txt)$/i, '')
    .toLowerCase() as string;
  const table: SourceTable = { name: tableName, columns, primaryKey: [], rows };
  return {
    name,
    path: file,
    kind: 'csv',
    tables: new Map([[tableName, table]]),
    notes: [
      `${name}: CSV, delimiter ${SHOWN[delimiter] ?? JSON.stringify(delimiter)}${opts.delimiter ? ' (given)' : ' (detected)'}, ` +
        `encoding ${encoding}${opts.encoding ? ' (given)' : ' (detected)'}, ${rows.length} row(s)`,
    ],
  };
}

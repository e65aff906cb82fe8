/**
 * CSV files of what a list shows, made in the browser with csv-stringify (the maintained sibling
 * of the csv-parse the importer reads with): a header row, RFC 4180 quoting, CRLF line ends and a
 * byte-order mark so spreadsheet programs read UTF-8 names correctly.
 */
import { stringify } from 'csv-stringify/browser/esm/sync';

export type Cell = string | number | null | undefined;

export function toCsv(header: string[], rows: Cell[][]): string {
  return `\uFEFF${stringify([header, ...rows.map((r) => r.map((c) => (c == null ? '' : c)))], {
    record_delimiter: 'windows',
  })}`;
}

/** Offers `header` + `rows` as a CSV download named `filename`. */
export function downloadCsv(filename: string, header: string[], rows: Cell[][]): void {
  const url = URL.createObjectURL(new Blob([toCsv(header, rows)], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** `stock-DT-2026-11-28.csv` */
export const csvName = (what: string, code: string | undefined) =>
  `${what}-${code ?? 'all'}-${new Date().toISOString().slice(0, 10)}.csv`;

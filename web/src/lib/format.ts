/** Display helpers shared by the views. */

export const money = (v: unknown) => {
  const n = Number(v ?? 0);
  return Number.isFinite(n)
    ? n.toLocaleString('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
    : '—';
};

const toDate = (v: unknown) => new Date(typeof v === 'number' ? v : String(v));

export const time = (v: unknown) => (v ? toDate(v).toLocaleTimeString('en-GB') : '—');

export const dateTime = (v: unknown) =>
  v ? toDate(v).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' }) : '—';

export const show = (v: unknown) => (v === null || v === undefined || v === '' ? '—' : String(v));

/** Where the app is: `#/stock`, `#/products/<id>`, ... */
export function parseRoute(hash: string): { view: string; id?: string; table?: string } {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts[0] === 'history') return { view: 'history', table: parts[1], id: parts[2] };
  return { view: parts[0] ?? '', id: parts[1] };
}

/**
 * Display helpers shared by the views. Numbers, dates and times are written in the browser's
 * language (navigator.language, through Intl); money in the business's currency (the server's
 * CURRENCY, read once signed in and kept for offline starts), e.g. "€1,234.50" or "1.234,50 €".
 */
import { createStore } from './store.ts';

export interface Currency {
  /** ISO 4217, e.g. EUR. */
  code: string;
  /** Written instead of the language's own symbol (e.g. "Fr."); null: the language's. */
  symbol: string | null;
}

const CURRENCY_KEY = 'branchline.currency';

function storedCurrency(): Currency {
  try {
    const c = JSON.parse(localStorage.getItem(CURRENCY_KEY) ?? 'null') as Currency | null;
    if (c && typeof c.code === 'string') return c;
  } catch {
    // no storage or a bad value: the default
  }
  return { code: 'EUR', symbol: null };
}

/** The business's currency; views re-render when it changes (App keys its main view on it). */
export const currency = createStore<Currency>(storedCurrency());

export function setCurrency(next: Currency) {
  const cur = currency.get();
  if (cur.code === next.code && cur.symbol === next.symbol) return;
  try {
    localStorage.setItem(CURRENCY_KEY, JSON.stringify(next));
  } catch {
    // private mode: kept for this page only
  }
  currency.set(next);
}

/** The browser's language, e.g. de-DE (undefined: Intl's default). */
export const locale = () => (typeof navigator === 'undefined' ? undefined : navigator.language || undefined);

const formats = new Map<string, Intl.NumberFormat>();
function moneyFormat(code: string) {
  const key = `${locale()}|${code}`;
  let f = formats.get(key);
  if (!f) {
    try {
      f = new Intl.NumberFormat(locale(), { style: 'currency', currency: code });
    } catch {
      f = new Intl.NumberFormat(locale(), { style: 'currency', currency: 'EUR' });
    }
    formats.set(key, f);
  }
  return f;
}

/** An amount of money with the currency, in the browser's language: "€1,234.50", "1.234,50 €". */
export const money = (v: unknown) => {
  const n = Number(v ?? 0);
  if (!Number.isFinite(n)) return '—';
  const { code, symbol } = currency.get();
  const parts = moneyFormat(code).formatToParts(n);
  return parts.map((p) => (p.type === 'currency' && symbol ? symbol : p.value)).join('');
};

/** The currency's symbol as money() writes it, e.g. for a column heading. */
export const currencySymbol = () => {
  const { code, symbol } = currency.get();
  return (
    symbol ??
    moneyFormat(code)
      .formatToParts(0)
      .find((p) => p.type === 'currency')?.value ??
    code
  );
};

/** A plain number in the browser's language ("1.234,5" in German). */
export const number = (v: unknown, digits?: number) => {
  const n = Number(v ?? 0);
  return Number.isFinite(n)
    ? n.toLocaleString(
        locale(),
        digits === undefined ? {} : { minimumFractionDigits: digits, maximumFractionDigits: digits },
      )
    : '—';
};

const toDate = (v: unknown) => new Date(typeof v === 'number' ? v : String(v));

export const time = (v: unknown) => (v ? toDate(v).toLocaleTimeString(locale()) : '—');

export const dateTime = (v: unknown) =>
  v ? toDate(v).toLocaleString(locale(), { dateStyle: 'short', timeStyle: 'medium' }) : '—';

/** A day as the browser's language writes it briefly, e.g. "25 Nov" or "25. Nov.". */
export const shortDate = (v: unknown) =>
  v ? toDate(v).toLocaleDateString(locale(), { day: 'numeric', month: 'short' }) : '—';

export const show = (v: unknown) => (v === null || v === undefined || v === '' ? '—' : String(v));

/** Where the app is: `#/stock`, `#/products/<id>`, ... */
export function parseRoute(hash: string): { view: string; id?: string; table?: string } {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts[0] === 'history') return { view: 'history', table: parts[1], id: parts[2] };
  return { view: parts[0] ?? '', id: parts[1] };
}

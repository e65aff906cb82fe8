/**
 * Cleaning the values of another system's rows before they are validated: text decoded from
 * UTF-8 or, when the bytes are not valid UTF-8, from Windows-1252 (a superset of Latin-1 for
 * every printable character); stray whitespace trimmed and runs of it collapsed in single-line
 * fields; amounts with currency signs, thousands separators and decimal commas turned into the
 * exact decimal strings the API takes ("1.234,50 €" -> "1234.50"); integers and dates parsed.
 * A value that cannot be read becomes `undefined`, never a guess, so the validator names it.
 */
import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';

export type Decimal = 'auto' | '.' | ',';

/** Text from bytes: UTF-8 when valid (a BOM dropped), otherwise Windows-1252. */
export function decodeText(bytes: Uint8Array): { text: string; encoding: 'utf-8' | 'windows-1252' } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buf)) {
    const text = buf.toString('utf8');
    return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, encoding: 'utf-8' };
  }
  return { text: iconv.decode(buf, 'windows-1252'), encoding: 'windows-1252' };
}

/** A raw value as text (null for empty), whatever type the source stored. */
export function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return decodeText(value).text;
  if (value instanceof Date) return value.toISOString();
  const s = String(value);
  return s;
}

/** Single-line text: trimmed, inner runs of whitespace (tabs, NBSP, newlines) made one space. */
export function cleanLine(value: unknown): string | null {
  const s = asText(value);
  if (s === null) return null;
  const out = s.replace(/[\s\u00a0\u200b]+/g, ' ').trim();
  return out === '' ? null : out;
}

/** Multi-line text: trimmed at both ends only. */
export function cleanText(value: unknown): string | null {
  const s = asText(value);
  if (s === null) return null;
  const out = s.trim();
  return out === '' ? null : out;
}

/**
 * An amount as a decimal string with at most 2 decimals ("12.5" -> "12.50"), or undefined when it
 * is not one. Currency signs and codes and spaces are dropped; with `decimal` 'auto' the last of
 * '.' and ',' is the decimal separator when both appear, and a lone ',' followed by one or two
 * digits is a decimal comma ("12,5"); a lone separator followed by exactly three digits is taken
 * as a thousands separator only when told so (decimal ','/'.'), otherwise it is ambiguous.
 */
export function parseMoney(value: unknown, decimal: Decimal = 'auto'): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    return normalizeDecimal(value.toFixed(Math.min(4, decimalsOf(value))));
  }
  const text = asText(value);
  if (text === null) return undefined;
  let s = text.replace(/[\s\u00a0']/g, '').replace(CURRENCY, '');
  const negative = s.startsWith('-');
  if (negative) s = s.slice(1).replace(CURRENCY, '');
  if (!/^[\d.,]*\d[\d.,]*$/.test(s)) return undefined;
  let sep: '.' | ',' | null;
  if (decimal !== 'auto') sep = decimal;
  else if (s.includes('.') && s.includes(',')) sep = s.lastIndexOf('.') > s.lastIndexOf(',') ? '.' : ',';
  else {
    const only = s.includes('.') ? '.' : s.includes(',') ? ',' : null;
    if (only === null) sep = null;
    else if (s.split(only).length > 2) sep = null;
    else if (s.length - s.indexOf(only) - 1 === 3) return undefined;
    else sep = only;
  }
  const thousands = sep === ',' ? '.' : ',';
  const parts = sep ? s.split(sep) : [s];
  if (parts.length > 2) return undefined;
  const [intPart, fracPart = ''] = parts as [string, string?];
  const groups = intPart.split(thousands);
  if (groups.length > 1 && (groups[0] === '' || groups.slice(1).some((g) => g.length !== 3)))
    return undefined;
  const digits = groups.join('');
  if (!/^\d+$/.test(digits) || !/^\d*$/.test(fracPart)) return undefined;
  return normalizeDecimal(`${negative ? '-' : ''}${digits}${fracPart ? `.${fracPart}` : ''}`);
}

const CURRENCY =
  /^(?:[$€£¥₹]|EUR|USD|GBP|CHF|SEK|NOK|DKK|PLN|CZK|AUD|CAD|NZD|ZAR)+|(?:[$€£¥₹]|EUR|USD|GBP|CHF|SEK|NOK|DKK|PLN|CZK|AUD|CAD|NZD|ZAR)+$/gi;

function decimalsOf(n: number): number {
  const s = String(n);
  const i = s.indexOf('.');
  return i < 0 ? 0 : s.length - i - 1;
}

/** "012.5" -> "12.50"; more than 2 significant decimals are kept, so the validator refuses them. */
function normalizeDecimal(s: string): string {
  const negative = s.startsWith('-');
  const [i, f = ''] = (negative ? s.slice(1) : s).split('.') as [string, string?];
  const int = i.replace(/^0+(?=\d)/, '');
  const frac = f.replace(/0+$/, '');
  return `${negative ? '-' : ''}${int}.${frac.length <= 2 ? frac.padEnd(2, '0') : frac}`;
}

/** An integer (also "12", "12.0", "1.234" with decimal ','), or undefined. */
export function parseInteger(value: unknown, decimal: Decimal = 'auto'): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value === 'bigint') return Number(value);
  const s = cleanLine(value);
  if (s === null) return undefined;
  if (/^-?\d+$/.test(s)) return Number(s);
  const m = parseMoney(s, decimal);
  if (m === undefined) return undefined;
  const n = Number(m);
  return Number.isInteger(n) ? n : undefined;
}

/**
 * A point in time: ISO-8601 text, "YYYY-MM-DD HH:MM[:SS]" (taken as UTC), "DD.MM.YYYY" or
 * "DD/MM/YYYY", or Unix seconds / milliseconds; undefined otherwise.
 */
export function parseDate(value: unknown): Date | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === 'number' || typeof value === 'bigint') {
    const n = Number(value);
    const d = new Date(n < 1e11 ? n * 1000 : n);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  const s = cleanLine(value);
  if (s === null) return undefined;
  let m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (m) {
    const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${m[7] ? `.${m[7].slice(0, 3)}` : ''}${m[8] ?? 'Z'}`;
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  m = /^(\d{1,2})[./](\d{1,2})[./](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(s);
  if (m) {
    const d = new Date(Date.UTC(+m[3], +m[2] - 1, +m[1], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0)));
    return d.getUTCDate() === +m[1] ? d : undefined;
  }
  if (/^\d{9,13}$/.test(s)) return parseDate(Number(s));
  return undefined;
}

/** Phone numbers compared by their digits (and a leading +). */
export function phoneKey(phone: string | null | undefined): string | null {
  if (!phone) return null;
  const digits = phone.replace(/[^\d+]/g, '');
  return digits.length >= 5 ? digits : null;
}

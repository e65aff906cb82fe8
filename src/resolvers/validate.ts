/**
 * Input validation with zod, run by resolvers after the access checks. A failure becomes the
 * typed `ValidationError { fieldErrors }` and nothing is written. Limits live here: string
 * lengths match the column sizes, quantities and prices have ranges, orders at most 200 lines.
 */
import { z } from 'zod';
import { ValidationError } from '../errors.ts';

export const LIMITS = {
  maxQuantity: 1_000_000,
  maxOrderItems: 200,
  maxPage: 200,
  defaultPage: 50,
  maxPrice: '9999999999.99',
} as const;

export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fieldErrors = result.error.issues.map((i) => ({
    path: i.path.map(String),
    message: i.message,
  }));
  throw new ValidationError(
    `Invalid input: ${fieldErrors.map((f) => `${f.path.join('.') || '(input)'} ${f.message}`).join('; ')}`,
    fieldErrors,
  );
}

export const id = z.uuid({ message: 'must be a UUID' });
export const version = z.number().int().min(1).max(2_147_483_647);
export const quantity = z.number().int().min(1).max(LIMITS.maxQuantity);
export const nonNegativeQuantity = z.number().int().min(0).max(LIMITS.maxQuantity);

/** A required, trimmed, non-empty single-line text of at most `max` characters. */
export const name = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((s) => ![...s].some((ch) => ch.charCodeAt(0) < 32), 'must not contain control characters');

/** An optional free text (multi-line allowed): empty becomes null. */
export const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters')
    .transform((s) => (s.trim() === '' ? null : s));

/** Money: the Decimal scalar's string, 0 to 9,999,999,999.99. */
export const price = z
  .string()
  .regex(/^\d{1,10}(\.\d{1,2})?$/, 'must be a non-negative amount with at most 10 digits and 2 decimals');

/**
 * A search term: trimmed, at most 200 characters, no NUL (PostgreSQL text cannot hold one, so a
 * NUL would fail the query instead of matching nothing).
 */
export const searchTerm = z
  .string()
  .trim()
  .max(200)
  .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters')
  .nullish();

/**
 * `term` for Prisma's `contains`, which hands LIKE wildcards to PostgreSQL as they are
 * (prisma/prisma#19506): `%`, `_` and the escape character `\` are escaped, so a search matches
 * the text typed and nothing more.
 */
export const likeLiteral = (term: string): string => term.replace(/[\\%_]/g, (c) => `\\${c}`);

export const email = z
  .string()
  .trim()
  .toLowerCase()
  .max(320)
  .pipe(z.email({ message: 'must be an email address' }));

/**
 * The Pothos builder: plugins, scalars and shared interfaces only. Types live in src/schema/.
 * ErrorsPlugin goes before PrismaPlugin (Pothos docs); AppError, not Error, is the default
 * error type so an unexpected failure is never turned into a visible union member.
 */
import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import { createGraphQLError } from 'graphql-yoga';
import type { Context } from './context.ts';
import { AppError } from './errors.ts';
import type PrismaTypes from './generated/pothos-types.ts';
import { getDatamodel } from './generated/pothos-types.ts';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    Decimal: { Input: string; Output: string | { toString(): string } };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  defaultFieldNullability: false,
  plugins: [ErrorsPlugin, PrismaPlugin],
  errors: { defaultTypes: [AppError] },
  prisma: {
    // One app instance per database (tests run several in one process), so the client is
    // reached through the context rather than a module singleton.
    client: (ctx) => ctx.db.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: true,
    filterConnectionTotalCount: true,
  },
});

builder.queryType({});
builder.mutationType({});

/** A scalar's refusal: a GraphQLError, so Yoga reports it to the client instead of masking it. */
const badInput = (message: string) => createGraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });

builder.scalarType('DateTime', {
  description: 'An ISO-8601 timestamp in UTC.',
  serialize: (v) => (v instanceof Date ? v.toISOString() : new Date(v).toISOString()),
  parseValue: (v) => {
    const d = new Date(String(v));
    if (typeof v !== 'string' || Number.isNaN(d.getTime()))
      throw badInput('DateTime must be an ISO-8601 string');
    // JavaScript dates reach far beyond PostgreSQL's (no year 0, nothing before 4713 BC).
    const year = d.getUTCFullYear();
    if (year < 1 || year > 9999) throw badInput('DateTime must be between the years 1 and 9999');
    return d;
  },
});

builder.scalarType('Decimal', {
  description: 'An exact decimal number as a string, e.g. "12.50" (money is never a float).',
  // Money columns have 2 decimals; Prisma's Decimal drops trailing zeros ("29"), so pad them back ("29.00").
  serialize: (v) => {
    const s = v.toString();
    const m = /^(-?\d+)(?:\.(\d+))?$/.exec(s);
    return m ? `${m[1]}.${(m[2] ?? '').padEnd(2, '0')}` : s;
  },
  parseValue: (v) => {
    const s = typeof v === 'number' ? String(v) : v;
    if (typeof s !== 'string' || !/^-?\d{1,12}(\.\d{1,2})?$/.test(s.trim())) {
      throw badInput('Decimal must be a number with at most 12 integer digits and 2 decimals, e.g. "12.50"');
    }
    return s.trim();
  },
});

builder.scalarType('JSON', {
  description: 'Arbitrary JSON.',
  serialize: (v) => v,
  parseValue: (v) => v,
});

/** Every expected error implements this interface: clients can always ask `... on Error { message }`. */
export const ErrorInterface = builder.interfaceRef<AppError>('Error').implement({
  fields: (t) => ({ message: t.exposeString('message') }),
});

builder.objectType(AppError, {
  name: 'BaseError',
  interfaces: [ErrorInterface],
});

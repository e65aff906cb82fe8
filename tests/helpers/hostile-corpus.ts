/**
 * The hostile-input corpus of issue 9, generated from the schema. Every argument and input field
 * of every root field (queries, mutations, subscriptions) is found by walking the schema, and each
 * position gets the payloads of its type, one position at a time: injections and unicode edge
 * cases in strings, invalid ids, overflowing numbers, unknown enum values, wrong shapes. A new
 * mutation or argument is covered without editing this file.
 *
 * Mutations are sent on base arguments that make them refuse as late as possible (a stale
 * `expectedVersion` on an existing row, ids that exist nowhere, a duplicate id and natural key for
 * creates; any one payload leaves at least one of these in place), so a payload travels as far
 * into validation and SQL as it can and still nothing may be written; a mutation described as a dry
 * run may succeed. A mutation without required arguments acts on the caller alone (logout): it is
 * sent without a token only, so that it cannot end the sessions the rest of the corpus runs on. Values that depend on the
 * database (ids of sample rows) are `Ref`s, resolved once the target runs; `RawJson` is sent
 * verbatim (numbers JavaScript cannot hold, `-0`). Cases that are not about one argument (raw
 * bodies, operation names, protocol messages) are in hostile-documents.ts, hostile-http.ts and
 * hostile-ws.ts.
 */

import type {
  GraphQLArgument,
  GraphQLField,
  GraphQLInputType,
  GraphQLObjectType,
  GraphQLOutputType,
  GraphQLSchema,
} from 'graphql';
import type pg from 'pg';
import { graphql } from '../../src/listeners/graphql.ts';

// The schema's own graphql runtime (instanceof checks fail across two copies of the module).
const {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isUnionType,
} = graphql;

export type Who = 'admin' | 'clerk' | 'anon';
export type Transport = 'http' | 'sse' | 'ws';
/**
 * refused: every selected mutation result is an error member (or the request fails as a whole);
 * clean: any answer that is not an internal error; open-ok: like clean, and a subscription may
 * also stay open (a well-formed argument that simply matches nothing).
 */
export type Expect = 'refused' | 'clean' | 'open-ok';

/** Ids of sample rows, read from the target's database before the corpus runs. */
export interface Fixtures {
  branch: string;
  product: string;
  sku: string;
  customer: string;
  order: string;
  user: string;
  /** The admin's email: a natural key no create may reuse. */
  email: string;
  token: string;
}

export class Ref {
  constructor(
    readonly key: keyof Fixtures,
    readonly map: (v: string) => string = (v) => v,
  ) {}
}

/** JSON text sent as it is. */
export class RawJson {
  constructor(readonly text: string) {}
}

export interface OperationCase {
  type: 'operation';
  kind: string;
  label: string;
  transport: Transport;
  who: Who;
  query: string;
  variables?: unknown;
  operationName?: unknown;
  /** Pad the string PAD in the variables so that the whole body has this many bytes. */
  pad?: { bytes: number; unit: string };
  expect: Expect;
  /** Root fields whose results must be error members when `expect` is 'refused'. */
  rootFields: string[];
  /** Extra check of the data (e.g. a search returns only rows that contain the term). */
  check?: (data: any) => string | null;
  /** The argument position a generated case attacks (`mutation.placeOrder.input.items`). */
  group?: string;
  /** Sent only without a token: a mutation that acts on the caller alone (see schemaCases). */
  anonOnly?: boolean;
}

export const PAD = '\u0001PAD\u0001';
export const STALE_VERSION = 1_999_999_999;
/** Well-formed UUIDs that no row has. */
export const ABSENT = (n: number) => `7b0e4c1a-5d1f-4e2b-9c3d-${String(n).padStart(12, '0')}`;

type Payload = { label: string; value: unknown; kind: string; wellFormed?: boolean };
const p = (kind: string, label: string, value: unknown, wellFormed = false): Payload => ({
  kind,
  label,
  value,
  wellFormed,
});

export const STRINGS: Payload[] = [
  p('sql', 'or-1=1', "' OR 1=1 --"),
  p('sql', 'drop-table', "'; DROP TABLE products; --"),
  p('sql', 'param-$1', '$1'),
  p('sql', 'backslash', '\\'),
  p('sql', 'sleep', "x'||pg_sleep(10)||'"),
  p('sql', 'like-percent', '%'),
  p('sql', 'like-underscore', '_'),
  p('sql', 'comment', '*/ --'),
  p('json', 'operator', '{"$gt": ""}'),
  p('json', 'json-proto', '{"__proto__": {"role": "ADMIN"}}'),
  p('graphql', 'break-out', '") { __typename } mutation { __typename } #'),
  p('html', 'script', '<script>alert(1)</script>'),
  p('html', 'attribute', '"><img src=x onerror=alert(1)>'),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template injection, sent as typed
  p('template', 'expressions', '${7*7} {{7*7}} #{7*7} <%= 7*7 %>'),
  p('header', 'crlf', 'a\r\n\r\nHTTP/1.1 200 OK'),
  p('path', 'traversal', '../../../../etc/passwd'),
  p('path', 'windows', '..\\..\\..\\windows\\win.ini'),
  p('path', 'file-url', 'file:///etc/passwd'),
  p('null-byte', 'nul', '\u0000'),
  p('null-byte', 'nul-inside', 'a\u0000b'),
  p('control', 'escape-sequence', '\u001b[31mred\u0008'),
  p('unicode', 'lone-high-surrogate', '\ud800'),
  p('unicode', 'lone-low-surrogate', 'x\udfffx'),
  p('unicode', 'rtl-override', '\u202eevil\u202c'),
  p('unicode', 'zero-width-joiner', 'a\u200db'),
  p('unicode', 'combining-x10k', `e${'\u0301'.repeat(10_000)}`),
  p('unicode', 'emoji-4-byte', '😀🏳️‍🌈'),
  p('unicode', 'bom', '\ufeffname'),
  p('unicode', 'noncharacters', '\uffff\ufffe'),
  p('unicode', 'line-separators', '\u0085\u2028\u2029'),
  p('size', 'empty', ''),
  p('size', 'blank', '   '),
  p('size', 'x4001', 'x'.repeat(4001)),
];
function byLabel(labels: string[]): Payload[] {
  return labels.map((label) => {
    const found = STRINGS.find((s) => s.label === label);
    if (!found) throw new Error(`no string payload ${label}`);
    return found;
  });
}
/**
 * Mutations' text positions: one or a few of each kind of STRINGS (each case costs a transaction;
 * searches, which are cheap reads and whose results are checked, get them all).
 */
export const MUTATION_STRINGS = byLabel([
  'or-1=1',
  'drop-table',
  'param-$1',
  'backslash',
  'json-proto',
  'break-out',
  'script',
  'expressions',
  'traversal',
  'nul-inside',
  'lone-high-surrogate',
  'rtl-override',
  'zero-width-joiner',
  'combining-x10k',
  'emoji-4-byte',
  'bom',
  'empty',
  'x4001',
]);
/** For positions that share one code path (every idempotencyKey): the strongest few. */
export const CORE = byLabel([
  'or-1=1',
  'drop-table',
  'param-$1',
  'backslash',
  'json-proto',
  'nul-inside',
  'lone-high-surrogate',
  'combining-x10k',
]);

const OTHER: Record<keyof Fixtures, (keyof Fixtures)[]> = {
  branch: ['product', 'order'],
  product: ['branch', 'customer'],
  customer: ['branch', 'product'],
  order: ['branch', 'product'],
  user: ['product', 'branch'],
  token: ['branch', 'product'],
  sku: ['branch', 'product'],
  email: ['branch', 'product'],
};

function ids(entity: keyof Fixtures): Payload[] {
  const [o1, o2] = OTHER[entity];
  return [
    p('id', 'empty', ''),
    p('id', 'not-a-uuid', 'x'),
    p('id', 'digits', '123'),
    p('wrong-type', 'number', 42),
    p('wrong-type', 'float', 4.2),
    p('wrong-type', 'boolean', true),
    p('wrong-type', 'list', [new Ref(entity)]),
    p('wrong-type', 'object', { id: new Ref(entity) }),
    p('id', 'nil-uuid', '00000000-0000-0000-0000-000000000000', true),
    p('id', 'max-uuid', 'ffffffff-ffff-ffff-ffff-ffffffffffff', true),
    p('id', `${o1}-uuid`, new Ref(o1), true),
    p('id', `${o2}-uuid`, new Ref(o2), true),
    p('id', 'upper-case', new Ref(o1, (s) => s.toUpperCase()), true),
    p('id', 'no-dashes', new Ref(entity, (s) => s.replaceAll('-', ''))),
    p('id', 'braces', new Ref(entity, (s) => `{${s}}`)),
    p('id', 'urn', new Ref(entity, (s) => `urn:uuid:${s}`)),
    p('sql', 'uuid-or', new Ref(entity, (s) => `${s}' OR '1'='1`)),
    p('null-byte', 'uuid-nul', new Ref(entity, (s) => `${s}\u0000`)),
    ...byLabel(['or-1=1', 'backslash', 'param-$1', 'lone-high-surrogate']),
  ];
}

export const NUMBERS: Payload[] = [
  p('number', '2^31', 2147483648),
  p('number', '-2^31-1', -2147483649),
  p('number', '2^53+1', new RawJson('9007199254740993')),
  p('number', '1e308', 1e308),
  p('number', '1e309', new RawJson('1e309')),
  p('number', '400-digits', new RawJson('1'.repeat(400))),
  p('number', '-0', new RawJson('-0')),
  p('number', 'NaN-string', 'NaN'),
  p('number', 'Infinity-string', 'Infinity'),
  p('number', 'fraction', 1.5),
  p('number', 'denormal', 5e-324),
  p('wrong-type', 'numeric-string', '7'),
  p('wrong-type', 'boolean', true),
  p('wrong-type', 'list', [1]),
  p('wrong-type', 'object', {}),
];

const DECIMALS: Payload[] = [
  p('number', '-0', '-0'),
  p('number', 'negative', '-1.00'),
  p('number', '1e308', '1e308'),
  p('number', 'NaN', 'NaN'),
  p('number', 'Infinity', 'Infinity'),
  p('number', 'hex', '0x1A'),
  p('number', '3-decimals', '1.005'),
  p('number', '11-digits', '99999999999.99'),
  p('unicode', 'fullwidth-digits', '１２'),
  p('number', 'as-number-1e308', 1e308),
  p('number', 'as-number--0', new RawJson('-0')),
  ...byLabel(['or-1=1', 'nul-inside', 'empty']),
];

const DATES: Payload[] = [
  p('date', 'words', 'yesterday'),
  p('date', 'month-13', '2026-13-45T00:00:00Z'),
  p('date', 'js-min', '-271821-04-20T00:00:00.000Z'),
  p('date', 'js-max', '+275760-09-13T00:00:00.000Z'),
  p('date', 'year-0', '0000-01-01T00:00:00Z'),
  p('date', 'epoch', '1970-01-01T00:00:00Z'),
  p('date', 'offset-99h', '2026-01-01T00:00:00+99:00'),
  p('wrong-type', 'number', new RawJson('8.64e15')),
  ...byLabel(['or-1=1', 'nul-inside', 'empty']),
];

const ENUMS: Payload[] = [
  p('enum', 'unknown', 'SHIPPED'),
  p('enum', 'lower-case', 'placed'),
  p('enum', 'empty', ''),
  p('enum', 'sql', "PLACED' OR 1=1 --"),
  p('enum', 'proto', '__proto__'),
  p('wrong-type', 'number', 5),
  p('wrong-type', 'list', ['PLACED']),
];

/** For JSON-typed inputs (passed through as they are): shapes code walking the value may trip on. */
const JSONS: Payload[] = [
  p('wrong-type', 'string', "' OR 1=1 --"),
  p('wrong-type', 'number', 5),
  p('wrong-type', 'list', [1, [2, [3]]]),
  p('json', 'proto', { ['__proto__']: { polluted: true } }),
  p('json', 'constructor', { constructor: { prototype: { polluted: true } } }),
  p('deep', '10k-nested-objects', new RawJson(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`)),
  p('deep', '10k-nested-lists', new RawJson(`${'['.repeat(10_000)}${']'.repeat(10_000)}`)),
  p('size', '10k-keys', Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]))),
  ...byLabel(['nul-inside', 'lone-high-surrogate']),
];

const BOOLEANS: Payload[] = [
  p('wrong-type', 'string', 'true'),
  p('wrong-type', 'number', 1),
  p('wrong-type', 'list', [true]),
];

const LISTS = (item: unknown): Payload[] => [
  p('shape', 'empty-list', [], true),
  p('shape', 'null-item', [null]),
  p('shape', 'nested-list', [[item]]),
  p('shape', 'object-for-list', { 0: item }),
  p(
    'size',
    '10k-items',
    Array.from({ length: 10_000 }, () => item),
    true,
  ),
];

const INPUT_OBJECTS = (base: unknown): Payload[] => [
  p('shape', 'string-for-object', "' OR 1=1 --"),
  p('shape', 'list-for-object', [base]),
  p('shape', 'unknown-field', { ...(base as object), evil: "' OR 1=1 --" }),
  p('shape', 'proto-key', { ...(base as object), ['__proto__']: { role: 'ADMIN' } }),
  p('shape', 'constructor-key', { ...(base as object), constructor: { prototype: { role: 'ADMIN' } } }),
];

/** One position inside a root field's arguments: `['input', 'items', '0', 'productId']`. */
interface Position {
  path: string[];
  type: GraphQLInputType;
}

function positions(args: readonly GraphQLArgument[]): Position[] {
  const out: Position[] = [];
  const walk = (type: GraphQLInputType, path: string[], depth: number) => {
    out.push({ path, type });
    const inner = isNonNullType(type) ? type.ofType : type;
    if (depth > 4) return;
    if (isListType(inner)) walk(inner.ofType, [...path, '0'], depth + 1);
    else if (isInputObjectType(inner))
      for (const f of Object.values(inner.getFields())) walk(f.type, [...path, f.name], depth + 1);
  };
  for (const a of args) walk(a.type, [a.name], 0);
  return out;
}

const ENTITIES: [RegExp, keyof Fixtures][] = [
  [/branch/i, 'branch'],
  [/product/i, 'product'],
  [/customer/i, 'customer'],
  [/order/i, 'order'],
  [/user/i, 'user'],
  [/token/i, 'token'],
];
/** The table an ID position refers to: from its own name, else (for `id`) from the root field's. */
function entityOf(name: string, fieldName: string): keyof Fixtures {
  for (const [re, e] of ENTITIES) if (re.test(name)) return e;
  for (const [re, e] of ENTITIES) if (re.test(fieldName)) return e;
  return 'product';
}

type Root = 'query' | 'mutation' | 'subscription';

/** Base arguments: valid-looking, and for mutations refused late whatever one position holds. */
function baseArgs(root: Root, field: GraphQLField<unknown, unknown>): Record<string, unknown> {
  const versioned = field.args.some((a) => a.name === 'expectedVersion');
  let absent = 0;
  const value = (type: GraphQLInputType, name: string, inInput: string | null): unknown => {
    const inner = isNonNullType(type) ? type.ofType : type;
    if (isListType(inner)) return [value(inner.ofType, name, inInput)];
    if (isInputObjectType(inner)) {
      const obj: Record<string, unknown> = {};
      const isPatch = inner.name.endsWith('Patch');
      for (const f of Object.values(inner.getFields())) {
        const isId = getNamedType(f.type).name === 'ID';
        if (isNonNullType(f.type) || (root === 'mutation' && isId && !isPatch))
          obj[f.name] = value(f.type, f.name, inner.name);
      }
      return obj;
    }
    if (isEnumType(inner)) return inner.getValues()[0].value;
    switch (inner.name) {
      case 'ID': {
        const entity = entityOf(name, field.name);
        if (root !== 'mutation') return new Ref(entity);
        // The row itself: a stale version (updates) or a duplicate id (creates) refuses it.
        if (name === 'id' && (versioned || inInput?.startsWith('Create'))) return new Ref(entity);
        return ABSENT(++absent);
      }
      case 'Int':
        return name === 'expectedVersion' ? STALE_VERSION : 1;
      case 'Decimal':
        return '1.00';
      case 'DateTime':
        return '2999-01-01T00:00:00.000Z';
      case 'Boolean':
        return false;
      default:
        // Natural keys of existing rows: a create is refused as a duplicate whatever else it holds.
        if (root === 'mutation' && name === 'sku') return new Ref('sku');
        if (root === 'mutation' && name === 'code') return 'DT';
        if (root === 'mutation' && name === 'email' && inInput?.startsWith('Create')) return new Ref('email');
        if (/base64/i.test(name)) return Buffer.from('sku,name\nCORPUS-1,Corpus\n').toString('base64');
        if (name === 'email') return 'nobody@corpus.invalid';
        return 'corpus';
    }
  };
  const out: Record<string, unknown> = {};
  for (const a of field.args) {
    const isId = getNamedType(a.type).name === 'ID';
    if (isNonNullType(a.type) || (root === 'mutation' && isId)) out[a.name] = value(a.type, a.name, null);
  }
  return out;
}

function payloadsFor(root: Root, pos: Position, fieldName: string, base: Record<string, unknown>): Payload[] {
  const inner = isNonNullType(pos.type) ? pos.type.ofType : pos.type;
  const name = pos.path.at(-1) as string;
  if (isListType(inner)) return LISTS(getAt(base, [...pos.path, '0']) ?? 'products');
  if (isInputObjectType(inner)) return INPUT_OBJECTS(getAt(base, pos.path) ?? {});
  if (isEnumType(inner)) return ENUMS;
  switch (inner.name) {
    case 'ID':
      return ids(entityOf(name, fieldName));
    case 'Int':
    case 'Float':
      return NUMBERS;
    case 'Decimal':
      return DECIMALS;
    case 'DateTime':
      return DATES;
    case 'Boolean':
      return BOOLEANS;
    case 'JSON':
      return JSONS;
    case 'String':
      // A key shares one code path across mutations; a password is only ever hashed.
      if (name === 'idempotencyKey' || name === 'password') return CORE;
      return root === 'mutation' ? MUTATION_STRINGS : STRINGS;
    default:
      return CORE;
  }
}

function getAt(obj: unknown, path: string[]): unknown {
  let v = obj as any;
  for (const k of path) v = v?.[k];
  return v;
}

/** A deep copy of `obj` with `value` at `path` (arrays for numeric segments). */
export function setAt(obj: unknown, path: string[], value: unknown): any {
  const [head, ...rest] = path;
  const copy: any = Array.isArray(obj) ? [...obj] : obj && typeof obj === 'object' ? { ...obj } : {};
  const child = copy[head] ?? (/^\d+$/.test(rest[0] ?? '') ? [] : {});
  if (rest.length === 0) Object.defineProperty(copy, head, { value, enumerable: true, writable: true });
  else copy[head] = setAt(child, rest, value);
  return copy;
}

/** A selection that shows what came back: type names, ids and names, error messages. */
export function selectionFor(type: GraphQLOutputType, depth = 0): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (isUnionType(named) || isInterfaceType(named)) return '{ __typename ... on Error { message } }';
  const fields = (named as GraphQLObjectType).getFields();
  const parts = ['__typename'];
  for (const f of ['id', 'name', 'sku', 'email', 'phone', 'cursor', 'table', 'branchId'])
    if (fields[f] && isLeafType(getNamedType(fields[f].type))) parts.push(f);
  const edges = fields.edges && getNamedType(fields.edges.type);
  if (edges && depth === 0) {
    const node = (edges as GraphQLObjectType).getFields().node;
    parts.push(`edges { node ${selectionFor(node.type, 1)} }`);
  }
  return `{ ${parts.join(' ')} }`;
}

/** A search may only return rows that contain the term (no LIKE wildcards, no injected OR). */
function searchCheck(field: string, term: unknown) {
  if (typeof term !== 'string' || term.trim() === '' || term.length > 200) return undefined;
  const needle = term.trim().toLowerCase();
  return (data: any) => {
    for (const e of data?.[field]?.edges ?? []) {
      const n = e.node ?? {};
      const hay = [n.name, n.sku, n.email, n.phone].filter(Boolean).join('\n').toLowerCase();
      if (!hay.includes(needle)) return `search ${JSON.stringify(term)} returned ${JSON.stringify(n.name)}`;
    }
    return null;
  };
}

export interface FieldCases {
  root: Root;
  field: string;
  /** The document with one variable per argument. */
  query: string;
  base: Record<string, unknown>;
  cases: OperationCase[];
}

/** The admin's cases for every position of every root field, sent over `transportOf(root)`. */
export function schemaCases(schema: GraphQLSchema): FieldCases[] {
  const out: FieldCases[] = [];
  const roots: [Root, GraphQLObjectType | null | undefined][] = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ];
  for (const [root, type] of roots) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      if (field.args.length === 0) continue;
      const defs = field.args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
      const uses = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
      const query = `${root} Corpus(${defs}) { ${field.name}(${uses}) ${selectionFor(field.type)} }`;
      const base = baseArgs(root, field);
      // A mutation that by its description changes nothing (a dry run) may succeed; the checksum still holds it.
      const dryRun = /\bdry run\b|changes nothing/i.test(field.description ?? '');
      // Without a required argument nothing can make it refuse (logout): it would end the corpus's
      // own sessions, so it is sent without a token only.
      const anonOnly = root === 'mutation' && field.args.every((a) => !isNonNullType(a.type));
      const cases: OperationCase[] = [];
      for (const pos of positions(field.args)) {
        for (const payload of payloadsFor(root, pos, field.name, base)) {
          const variables = setAt(base, pos.path, payload.value);
          const isSearch = pos.path.join('.') === 'search';
          cases.push({
            type: 'operation',
            kind: payload.kind,
            label: `${root} ${field.name}(${pos.path.join('.')}: ${payload.label})`,
            transport: root === 'subscription' ? 'sse' : 'http',
            who: anonOnly ? 'anon' : 'admin',
            anonOnly,
            query,
            variables,
            expect: root === 'mutation' && !dryRun ? 'refused' : payload.wellFormed ? 'open-ok' : 'clean',
            rootFields: [field.name],
            check: isSearch ? searchCheck(field.name, payload.value) : undefined,
            group: `${root}.${field.name}.${pos.path.join('.')}`,
          });
        }
      }
      out.push({ root, field: field.name, query, base, cases });
    }
  }
  return out;
}

/** The sample rows the corpus refers to. */
export async function loadFixtures(pool: pg.Pool): Promise<Fixtures> {
  const one = async (sql: string) => (await pool.query(sql)).rows[0];
  const product = await one('SELECT id, sku FROM products ORDER BY sku LIMIT 1');
  return {
    branch: (await one("SELECT id FROM branches WHERE code = 'DT'")).id,
    product: product.id,
    sku: product.sku,
    customer: (await one('SELECT id FROM customers ORDER BY id LIMIT 1')).id,
    order: (await one("SELECT id FROM orders WHERE status = 'PLACED' ORDER BY id LIMIT 1")).id,
    user: (await one("SELECT id FROM users WHERE email = 'admin@example.com'")).id,
    email: 'admin@example.com',
    token: (await one('SELECT id FROM api_tokens ORDER BY id LIMIT 1')).id,
  };
}

/**
 * The hostile-input corpus, hand-written documents: what is not one argument of one field.
 * Operation names and several operations, aliases, directives, fragments, literals, variable
 * definitions, deep selections, and bodies just under and just over 1 MiB (ASCII, two- and
 * four-byte characters). Sent as the admin over HTTP, and (all but the huge ones) over SSE, over
 * graphql-ws and without a token.
 */
import { type OperationCase, PAD, Ref, STALE_VERSION } from './hostile-corpus.ts';

export const MiB = 1024 * 1024;
const ARCHIVE = `archiveProduct(id: $id, expectedVersion: ${STALE_VERSION}) { __typename ... on Error { message } }`;
export const SEARCH = 'query Search($s: String) { products(search: $s) { edges { node { id name sku } } } }';

const op = (
  kind: string,
  label: string,
  query: string,
  more: Partial<OperationCase> = {},
): OperationCase => ({
  type: 'operation',
  kind,
  label,
  transport: 'http',
  who: 'admin',
  query,
  expect: 'clean',
  rootFields: [],
  ...more,
});
const refused = (rootFields: string[], variables: unknown = { id: new Ref('product') }) => ({
  expect: 'refused' as const,
  rootFields,
  variables,
});

export const nestedLists = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
export const nestedObjects = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
export const CHANGES_T = 'subscription ($t: [String!]) { changes(tables: $t) { cursor } }';

/** Documents and variable sets that are not about one argument. */
export function documentCases(): OperationCase[] {
  const two = `query A { __typename } mutation B($id: ID!) { ${ARCHIVE} }`;
  const pad = (bytes: number, unit = 'x') => ({ bytes, unit });
  return [
    op('operation', 'two operations, no operationName', two, refused(['archiveProduct'])),
    op('operation', 'operationName of none', two, { ...refused(['archiveProduct']), operationName: 'C' }),
    op('operation', 'operationName picks the mutation', two, {
      ...refused(['archiveProduct']),
      operationName: 'B',
    }),
    ...[5, '', ['B'], { name: 'B' }, '__proto__', 'constructor', 'toString', 'hasOwnProperty'].map((name) =>
      op('operation', `operationName ${JSON.stringify(name)}`, two, {
        ...refused(['archiveProduct']),
        operationName: name,
      }),
    ),
    op('operation', 'anonymous and named operations', '{ __typename } query A { __typename }'),
    op('operation', 'two operations of one name', 'query A { __typename } query A { me { id } }'),
    op(
      'operation',
      '300 operations',
      Array.from({ length: 300 }, (_, i) => `query O${i} { __typename }`).join(' '),
      { operationName: 'O299' },
    ),
    // Refused (406) over a plain POST; over SSE and graphql-ws a valid subscription that stays open.
    op('operation', 'subscription over a plain POST', 'subscription { changes { cursor } }', {
      expect: 'open-ok',
    }),
    op(
      'operation',
      'mutation field in a query',
      `query ($id: ID!) { ${ARCHIVE} }`,
      refused(['archiveProduct']),
    ),
    op('operation', 'query field in a mutation', 'mutation { me { id } }'),
    op(
      'alias',
      'prototype names as aliases',
      '{ __proto__: __typename constructor: __typename toString: __typename valueOf: __typename hasOwnProperty: __typename }',
    ),
    op(
      'alias',
      'mutation under __proto__ alias',
      `mutation ($id: ID!) { __proto__: ${ARCHIVE} }`,
      refused(['__proto__']),
    ),
    op('directive', 'include with a string', '{ __typename @include(if: "yes") }'),
    op('directive', 'skip with a string variable', 'query ($x: Boolean!) { __typename @skip(if: $x) }', {
      variables: { x: 'true' },
    }),
    op('directive', 'unknown directive', '{ __typename @evil(sql: "\' OR 1=1 --") }'),
    op('directive', '50 repeated directives', `{ __typename ${'@include(if: true) '.repeat(50)}}`),
    op('fragment', 'fragment cycle', '{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }'),
    op('fragment', 'unknown fragment', '{ ...Nope }'),
    op('fragment', 'fragment on the wrong type', '{ ...F } fragment F on Mutation { __typename }'),
    op('introspection', 'type named by injection', '{ __type(name: "\' OR 1=1 --") { name } }'),
    op('introspection', 'type named by NUL', '{ __type(name: "\\u0000") { name } }'),
    op(
      'literal',
      'SQL in a search literal',
      '{ products(search: "\' OR 1=1 --") { edges { node { id } } } }',
    ),
    op('literal', 'block string', '{ products(search: """\'; DROP TABLE products; --""") { __typename } }'),
    op('literal', 'lone surrogate escape', '{ products(search: "\\ud800") { __typename } }'),
    op('literal', 'NUL escape', '{ products(search: "a\\u0000b") { __typename } }'),
    op('literal', 'raw NUL character', '{ products(search: "a\u0000b") { __typename } }'),
    op('literal', 'unterminated string', '{ products(search: "abc) { __typename } }'),
    op(
      'literal',
      'Int literal of 20 digits',
      `mutation ($id: ID!) { archiveProduct(id: $id, expectedVersion: 99999999999999999999) { __typename } }`,
      refused(['archiveProduct']),
    ),
    op(
      'literal',
      'Float literal for an Int',
      'mutation ($id: ID!) { archiveProduct(id: $id, expectedVersion: 1.0) { __typename } }',
      refused(['archiveProduct']),
    ),
    op('literal', 'string for an enum', '{ orders(status: "PLACED") { __typename } }'),
    op('literal', 'unknown enum', '{ history(table: PASSWORDS, id: "x") { op } }'),
    op(
      'literal',
      'duplicate input fields',
      'mutation { createProduct(input: { sku: "A", sku: "B", name: "x", unitPrice: "1.00" }) { __typename } }',
      refused(['createProduct'], {}),
    ),
    op(
      'literal',
      'duplicate arguments',
      `mutation ($id: ID!) { archiveProduct(id: $id, id: "x", expectedVersion: ${STALE_VERSION}) { __typename } }`,
      refused(['archiveProduct']),
    ),
    op('variables', 'default value injection', SEARCH.replace('$s: String', '$s: String = "\' OR 1=1 --"')),
    op('variables', 'variable of the wrong type', 'query ($s: Int) { products(search: $s) { __typename } }'),
    op('variables', 'variable of an unknown type', 'query ($s: Evil) { __typename }'),
    op('variables', 'undefined variable', '{ products(search: $s) { __typename } }'),
    op('variables', 'unused variable with NUL', 'query ($s: String) { __typename }', {
      variables: { s: '\u0000' },
    }),
    op('variables', 'unknown and prototype variables', SEARCH, {
      variables: { s: 'a', evil: "' OR 1=1 --", ['__proto__']: { s: "' OR 1=1 --" }, constructor: 1 },
    }),
    op(
      'variables',
      'required variable missing',
      `mutation ($id: ID!) { ${ARCHIVE} }`,
      refused(['archiveProduct'], {}),
    ),
    op(
      'variables',
      'required variable null',
      `mutation ($id: ID!) { ${ARCHIVE} }`,
      refused(['archiveProduct'], { id: null }),
    ),
    op('variables', 'array for variables', SEARCH, { variables: ["' OR 1=1 --"] }),
    op('variables', 'string for variables', SEARCH, { variables: '{"s": "x"}' }),
    op('variables', 'number for variables', SEARCH, { variables: 5 }),
    op(
      'depth',
      'selection 30 levels deep',
      `{ products { edges { node { ${'stockLevels { product { '.repeat(15)}id${' } }'.repeat(15)} } } } }`,
    ),
    op(
      'alias',
      '1000 aliases',
      `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(' ')} }`,
    ),
    op('huge', 'search just under 1 MiB', SEARCH, { variables: { s: PAD }, pad: pad(MiB - 16) }),
    op('huge', 'search just over 1 MiB', SEARCH, { variables: { s: PAD }, pad: pad(MiB + 16) }),
    op('huge', 'emoji just over 1 MiB in bytes, half in characters', SEARCH, {
      variables: { s: PAD },
      pad: pad(MiB + 16, '😀'),
    }),
    op('huge', 'two-byte characters just under 1 MiB', SEARCH, {
      variables: { s: PAD },
      pad: pad(MiB - 16, 'é'),
    }),
    op(
      'huge',
      'product name just under 1 MiB',
      'mutation ($i: CreateProductInput!) { createProduct(input: $i) { __typename } }',
      {
        ...refused(['createProduct'], {
          i: { id: new Ref('product'), sku: new Ref('sku'), name: PAD, unitPrice: '1.00' },
        }),
        pad: pad(MiB - 16),
      },
    ),
    op(
      'huge',
      'note just over 1 MiB',
      'mutation ($b: ID!, $p: ID!, $n: String) { receiveStock(branchId: $b, productId: $p, quantity: 1, note: $n) { __typename } }',
      {
        ...refused(['receiveStock'], { b: new Ref('branch'), p: new Ref('product'), n: PAD }),
        pad: pad(MiB + 16),
      },
    ),
    op(
      'huge',
      'password just under 1 MiB',
      'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { __typename } }',
      { ...refused(['login'], { e: 'admin@example.com', p: PAD }), pad: pad(MiB - 16) },
    ),
    op(
      'huge',
      'idempotencyKey just under 1 MiB',
      `mutation ($id: ID!, $k: String) { archiveProduct(id: $id, expectedVersion: ${STALE_VERSION}, idempotencyKey: $k) { __typename } }`,
      { ...refused(['archiveProduct'], { id: new Ref('product'), k: PAD }), pad: pad(MiB - 16) },
    ),
    op('huge', 'unused variable just over 1 MiB', '{ __typename }', {
      variables: { junk: PAD },
      pad: pad(MiB + 16),
    }),
  ];
}

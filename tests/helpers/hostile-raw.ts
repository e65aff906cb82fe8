/**
 * The hand-written part of the hostile-input corpus: what is not one argument of one field.
 * Whole documents (operation names, several operations, aliases, directives, fragments, literals,
 * variable definitions, deep selections), huge bodies just under and just over 1 MiB, deep
 * nesting (10,000 nested lists and objects in variables and documents), raw HTTP bodies
 * (malformed JSON, overlong UTF-8, BOM, duplicate keys, wrong shapes, content types, methods,
 * GET and SSE GET) and raw graphql-ws messages (malformed, wrong types, out of order, duplicate
 * ids, oversized, wrong subprotocol).
 */
import {
  type Expect,
  type Fixtures,
  type OperationCase,
  PAD,
  Ref,
  STALE_VERSION,
  type Who,
} from './hostile-corpus.ts';

export interface HttpRawCase {
  type: 'http-raw';
  kind: string;
  label: string;
  transport: 'http' | 'sse';
  who: Who;
  method: string;
  /** Path and query string, e.g. `/graphql?query=...`. */
  path: (fx: Fixtures) => string;
  headers?: Record<string, string>;
  body?: (fx: Fixtures) => string | Buffer;
  expect: Expect;
  rootFields: string[];
  /** Why the connection may be reset instead of answered (Node's parser refusing a request). */
  resetOk?: string;
}

export interface WsRawCase {
  type: 'ws-raw';
  kind: string;
  label: string;
  transport: 'ws';
  who: Who;
  /** Default: graphql-transport-ws; null: none. */
  subprotocol?: string | null;
  /** token: connection_init with the viewer's token (none for anon); skip: no connection_init. */
  init: 'token' | 'skip' | { raw: string };
  messages: (fx: Fixtures) => (string | Buffer)[];
  /** The close codes graphql-ws (or the WebSocket layer) must answer with. */
  closeCodes?: number[];
  /** With closeCodes: staying open (and answering a probe) is also right. */
  mayStayOpen?: boolean;
}

const MiB = 1024 * 1024;
const ARCHIVE = `archiveProduct(id: $id, expectedVersion: ${STALE_VERSION}) { __typename ... on Error { message } }`;
const SEARCH = 'query Search($s: String) { products(search: $s) { edges { node { id name sku } } } }';

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

const nestedLists = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const nestedObjects = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

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

const json = (query: string, rest = '') => `{"query":${JSON.stringify(query)}${rest}}`;
const post = (
  kind: string,
  label: string,
  body: (fx: Fixtures) => string | Buffer,
  more: Partial<HttpRawCase> = {},
): HttpRawCase => ({
  type: 'http-raw',
  kind,
  label,
  transport: 'http',
  who: 'admin',
  method: 'POST',
  path: () => '/graphql',
  body,
  expect: 'clean',
  rootFields: [],
  ...more,
});
const get = (kind: string, label: string, params: (fx: Fixtures) => Record<string, string>, more = {}) =>
  post(kind, label, () => '', {
    method: 'GET',
    body: undefined,
    path: (fx) => `/graphql?${new URLSearchParams(params(fx))}`,
    ...more,
  });
const archive = (fx: Fixtures) =>
  `mutation { archiveProduct(id: "${fx.product}", expectedVersion: ${STALE_VERSION}) { __typename ... on Error { message } } }`;
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((x) => (typeof x === 'string' ? Buffer.from(x) : Buffer.from(x))));
const SSE = { accept: 'text/event-stream' };
const CHANGES_T = 'subscription ($t: [String!]) { changes(tables: $t) { cursor } }';

/** Raw HTTP requests: bodies that are not (valid) GraphQL-over-HTTP JSON, odd methods and headers. */
export function httpRawCases(): HttpRawCase[] {
  const searchIn = (s: string) => `{ products(search: "${s}") { edges { node { id } } } }`;
  const mut = { expect: 'refused' as const, rootFields: ['archiveProduct'] };
  return [
    post('malformed-json', 'truncated', () => '{"query": '),
    post('malformed-json', 'lone brace', () => '{'),
    post('malformed-json', 'bare word', () => 'nul'),
    post('malformed-json', 'trailing garbage', () => `${json('{ __typename }')} trailing`),
    post('malformed-json', 'raw control character in a string', () =>
      json('{ __typename }').replace('__', '_\u0001_'),
    ),
    post('malformed-json', 'raw NUL byte', () => bytes('{"query":"{ __typename }', [0], '"}')),
    post('malformed-json', 'NaN literal', () => json(SEARCH, ',"variables":{"s":NaN}')),
    post('malformed-json', 'hex number', () => json(SEARCH, ',"variables":{"s":0x10}')),
    post('malformed-json', 'single quotes', () => "{'query':'{ __typename }'}"),
    post('wrong-shape', 'JSON string body', () => JSON.stringify('{ __typename }')),
    post('wrong-shape', 'empty array', () => '[]'),
    post('wrong-shape', 'batched array', () => `[${json('{ __typename }')},${json('{ me { id } }')}]`),
    post('wrong-shape', 'empty object', () => '{}'),
    post('wrong-shape', 'query is a number', () => '{"query":5}'),
    post('wrong-shape', 'query is null', () => '{"query":null}'),
    post('wrong-shape', 'query is empty', () => '{"query":""}'),
    post('wrong-shape', 'query is an object', () => '{"query":{"kind":"Document","definitions":[]}}'),
    post('wrong-shape', 'variables is an array', () => json(SEARCH, ',"variables":["x"]')),
    post('wrong-shape', 'variables is a string', () => json(SEARCH, ',"variables":"{\\"s\\":\\"x\\"}"')),
    post('wrong-shape', 'variables is a number', () => json(SEARCH, ',"variables":5')),
    post('wrong-shape', 'variables is true', () => json(SEARCH, ',"variables":true')),
    post('wrong-shape', 'operationName is a number', () => json(SEARCH, ',"operationName":5')),
    post('wrong-shape', 'extensions is a string', () => json(SEARCH, ',"extensions":"x"')),
    post('wrong-shape', 'persisted-query extension', () =>
      json(SEARCH, ',"extensions":{"persistedQuery":{"version":1,"sha256Hash":"\' OR 1=1 --"}}'),
    ),
    post(
      'duplicate-keys',
      'query twice, the mutation last',
      (fx) => `{"query":"{ __typename }","query":${JSON.stringify(archive(fx))}}`,
      mut,
    ),
    post(
      'duplicate-keys',
      'query twice, the mutation first',
      (fx) => `{"query":${JSON.stringify(archive(fx))},"query":"{ __typename }"}`,
    ),
    post('duplicate-keys', 'variable twice', () => json(SEARCH, ',"variables":{"s":"a","s":"\' OR 1=1 --"}')),
    post('encoding', 'BOM before the JSON', () => bytes([0xef, 0xbb, 0xbf], json('{ __typename }'))),
    post('encoding', 'overlong UTF-8 slash', () =>
      bytes('{"query":"{ products(search: \\"', [0xc0, 0xaf], '\\") { __typename } }"}'),
    ),
    post('encoding', 'overlong UTF-8 NUL', () =>
      bytes('{"query":"{ products(search: \\"', [0xc0, 0x80], '\\") { __typename } }"}'),
    ),
    post('encoding', 'invalid UTF-8 bytes', () =>
      bytes('{"query":"{ products(search: \\"', [0xff, 0xfe, 0xfd], '\\") { __typename } }"}'),
    ),
    post('encoding', 'truncated multi-byte character', () =>
      bytes('{"query":"{ __typename }","x":"', [0xe2, 0x82], '"}'),
    ),
    post('encoding', 'surrogate encoded in UTF-8 (CESU)', () =>
      bytes('{"query":"{ products(search: \\"', [0xed, 0xa0, 0x80], '\\") { __typename } }"}'),
    ),
    post('encoding', 'UTF-16 body', () => Buffer.from(json('{ __typename }'), 'utf16le'), {
      headers: { 'content-type': 'application/json; charset=utf-16' },
    }),
    post('encoding', 'latin1 charset declared', () => Buffer.from(json(searchIn('café')), 'latin1'), {
      headers: { 'content-type': 'application/json; charset=latin1' },
    }),
    post(
      'number',
      '1e309 for an Int (parses to Infinity)',
      (fx) =>
        json(
          `mutation ($q: Int!) { receiveStock(branchId: "${fx.branch}", productId: "${fx.product}", quantity: $q) { __typename } }`,
          ',"variables":{"q":1e309}',
        ),
      { expect: 'refused', rootFields: ['receiveStock'] },
    ),
    post('deep', '10,000 nested lists in a String variable', () =>
      json(SEARCH, `,"variables":{"s":${nestedLists(10_000)}}`),
    ),
    post('deep', '50,000 nested lists in a variable', () =>
      json(SEARCH, `,"variables":{"s":${nestedLists(50_000)}}`),
    ),
    post(
      'deep',
      '10,000 nested objects in an input variable',
      () =>
        json(
          'mutation ($i: CreateProductInput!) { createProduct(input: $i) { __typename } }',
          `,"variables":{"i":${nestedObjects(10_000)}}`,
        ),
      { expect: 'refused', rootFields: ['createProduct'] },
    ),
    post(
      'deep',
      '10,000 nested lists as order items',
      (fx) =>
        json(
          `mutation ($items: [OrderItemInput!]!) { placeOrder(input: { branchId: "${fx.branch}", items: $items }) { __typename } }`,
          `,"variables":{"items":${nestedLists(10_000)}}`,
        ),
      { expect: 'refused', rootFields: ['placeOrder'] },
    ),
    post('deep', '10,000 nested list literals in the document', () =>
      json(`{ products(search: ${nestedLists(10_000)}) { __typename } }`),
    ),
    post('deep', '10,000 nested object literals in the document', () =>
      json(
        `mutation { createProduct(input: ${'{ a: '.repeat(10_000)}1${' }'.repeat(10_000)}) { __typename } }`,
      ),
    ),
    post('deep', '10,000 nested selections', () =>
      json(`{ ${'me { '.repeat(10_000)}id${' }'.repeat(10_000)} }`),
    ),
    post('deep', '10,000 nested parentheses', () =>
      json(`{ products(search: ${'('.repeat(10_000)}) { __typename } }`),
    ),
    post('content-type', 'text/plain', () => json('{ __typename }'), {
      headers: { 'content-type': 'text/plain' },
    }),
    post('content-type', 'none', () => json('{ __typename }'), { headers: { 'content-type': '' } }),
    post('content-type', 'application/graphql mutation', archive, {
      headers: { 'content-type': 'application/graphql' },
      ...mut,
    }),
    post('content-type', 'form-encoded mutation', (fx) => `query=${encodeURIComponent(archive(fx))}`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      ...mut,
    }),
    post(
      'content-type',
      'multipart mutation',
      (fx) =>
        `--X\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${json(archive(fx))}\r\n--X\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--X--\r\n`,
      { headers: { 'content-type': 'multipart/form-data; boundary=X' }, ...mut },
    ),
    post('content-type', 'XML', () => '<query>{ __typename }</query>', {
      headers: { 'content-type': 'application/xml' },
    }),
    post('headers', 'accept text/html', () => json('{ __typename }'), { headers: { accept: 'text/html' } }),
    post('headers', 'accept application/xml only', () => json('{ __typename }'), {
      headers: { accept: 'application/xml' },
    }),
    post('headers', 'SQL in the bearer token', () => json('{ me { id } }'), {
      who: 'anon',
      headers: { authorization: "Bearer ' OR 1=1 --" },
    }),
    post('headers', '8 KB bearer token', () => json('{ me { id } }'), {
      who: 'anon',
      headers: { authorization: `Bearer ${'x'.repeat(8000)}` },
    }),
    post('headers', 'Basic credentials', () => json('{ me { id } }'), {
      who: 'anon',
      headers: { authorization: 'Basic YWRtaW46YnJhbmNobGluZQ==' },
    }),
    post('headers', 'two bearer tokens in one header', () => json('{ me { id } }'), {
      who: 'anon',
      headers: { authorization: 'Bearer a, Bearer b' },
    }),
    ...['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'].map((method) =>
      post('method', method, archive, { method, ...mut }),
    ),
    get('get', 'mutation over GET', (fx) => ({ query: archive(fx) }), mut),
    get('get', 'malformed variables', () => ({ query: SEARCH, variables: '{"s":' })),
    get('get', 'variables an array', () => ({ query: SEARCH, variables: '[1]' })),
    get('get', 'SQL in a search over GET', () => ({ query: SEARCH, variables: '{"s":"\' OR 1=1 --"}' })),
    get('get', 'operationName __proto__', () => ({ query: '{ __typename }', operationName: '__proto__' })),
    get('get', 'no query', () => ({})),
    get('get', '100 KB query string', () => ({ query: `{ __typename ${' '.repeat(100_000)}}` }), {
      resetOk: "Node's HTTP parser answers 431 and closes while the request is still being written",
    }),
    post('path', 'traversal in the path', () => '', {
      method: 'GET',
      body: undefined,
      path: () => '/graphql/../../etc/passwd',
    }),
    post('path', 'encoded traversal', () => '', {
      method: 'GET',
      body: undefined,
      path: () => '/%2e%2e/%2e%2e/etc/passwd',
    }),
    post('path', 'NUL in the path', () => '', {
      method: 'GET',
      body: undefined,
      path: () => '/graphql%00.json',
    }),
    // Yoga's subscriptions over HTTP (SSE), by GET and POST.
    get('sse', 'SSE GET: unknown table', () => ({ query: CHANGES_T, variables: '{"t":["\' OR 1=1 --"]}' }), {
      transport: 'sse',
      headers: SSE,
    }),
    get('sse', 'SSE GET: mutation', (fx) => ({ query: archive(fx) }), {
      transport: 'sse',
      headers: SSE,
      ...mut,
    }),
    get('sse', 'SSE GET: malformed variables', () => ({ query: CHANGES_T, variables: '{"t":' }), {
      transport: 'sse',
      headers: SSE,
    }),
    get(
      'sse',
      'SSE GET: bad cursor with NUL',
      () => ({
        query: 'subscription ($a: String) { changes(after: $a) { cursor } }',
        variables: JSON.stringify({ a: '\u0000' }),
      }),
      { transport: 'sse', headers: SSE },
    ),
    get(
      'sse',
      'SSE GET: 10,000 nested lists',
      () => ({ query: CHANGES_T, variables: `{"t":${nestedLists(10_000)}}` }),
      {
        transport: 'sse',
        headers: SSE,
      },
    ),
    post('sse', 'SSE POST: malformed JSON', () => '{"query": ', { transport: 'sse', headers: SSE }),
    post('sse', 'SSE POST: batched array', () => `[${json(CHANGES_T)}]`, { transport: 'sse', headers: SSE }),
    post(
      'sse',
      'SSE POST: two subscriptions, no operationName',
      () => json('subscription A { changes { cursor } } subscription B { changes { cursor } }'),
      { transport: 'sse', headers: SSE },
    ),
    post(
      'sse',
      'SSE POST: two root fields in a subscription',
      () => json('subscription { changes { cursor } feedStatus: changes { cursor } }'),
      { transport: 'sse', headers: SSE },
    ),
    post(
      'sse',
      'SSE POST: 10,000 nested objects for tables',
      () => json(CHANGES_T, `,"variables":{"t":${nestedObjects(10_000)}}`),
      {
        transport: 'sse',
        headers: SSE,
      },
    ),
  ];
}

const msg = (m: unknown) => JSON.stringify(m);
const sub = (id: unknown, payload: unknown) => msg({ id, type: 'subscribe', payload });
const LIVE = { query: 'subscription { changes { cursor } }' };
const ws = (
  kind: string,
  label: string,
  messages: (fx: Fixtures) => (string | Buffer)[],
  more: Partial<WsRawCase> = {},
): WsRawCase => ({
  type: 'ws-raw',
  kind,
  label,
  transport: 'ws',
  who: 'admin',
  init: 'token',
  messages,
  ...more,
});
const bad = { closeCodes: [4400] };

/** Raw graphql-ws traffic: malformed and out-of-order messages, duplicate ids, odd frames. */
export function wsRawCases(): WsRawCase[] {
  return [
    ws('ws-malformed', 'not JSON', () => ['hello'], bad),
    ws('ws-malformed', 'JSON array', () => ['[]'], bad),
    ws('ws-malformed', 'JSON null', () => ['null'], bad),
    ws('ws-malformed', 'raw NUL in the JSON', () => [`{"type":"ping"\u0000}`], bad),
    ws('ws-malformed', 'subscribe without id and payload', () => [msg({ type: 'subscribe' })], bad),
    ws('ws-malformed', 'numeric id', () => [sub(5, { query: '{ __typename }' })], bad),
    ws('ws-malformed', 'query is a number', () => [sub('1', { query: 5 })], bad),
    ws(
      'ws-malformed',
      'variables is an array',
      () => [sub('1', { query: '{ __typename }', variables: [] })],
      bad,
    ),
    ws(
      'ws-malformed',
      'variables is a string',
      () => [sub('1', { query: '{ __typename }', variables: 'x' })],
      bad,
    ),
    ws(
      'ws-malformed',
      'operationName is a number',
      () => [sub('1', { query: '{ __typename }', operationName: 5 })],
      bad,
    ),
    ws(
      'ws-malformed',
      'extensions is a number',
      () => [sub('1', { query: '{ __typename }', extensions: 5 })],
      bad,
    ),
    ws('ws-malformed', 'ping payload is a string', () => [msg({ type: 'ping', payload: 'x' })], bad),
    ws('ws-type', 'unknown type', () => [msg({ id: '1', type: 'evil' })], bad),
    ws('ws-type', 'legacy start message', () => [msg({ id: '1', type: 'start', payload: LIVE })], bad),
    ws('ws-type', 'legacy connection_terminate', () => [msg({ type: 'connection_terminate' })], bad),
    ws(
      'ws-type',
      'server-only message from the client',
      () => [msg({ id: '1', type: 'next', payload: {} })],
      bad,
    ),
    ws('ws-type', 'unsolicited pong', () => [msg({ type: 'pong' })]),
    ws('ws-type', 'complete of an unknown id', () => [msg({ id: 'nope', type: 'complete' })]),
    ws('ws-type', '200 pings', () => Array.from({ length: 200 }, () => msg({ type: 'ping' }))),
    ws('ws-order', 'subscribe before connection_init', () => [sub('1', LIVE)], {
      init: 'skip',
      closeCodes: [4401],
    }),
    ws('ws-order', 'connection_init twice', () => [msg({ type: 'connection_init' })], { closeCodes: [4429] }),
    ws('ws-order', 'connection_init payload is a string', () => [], {
      init: { raw: msg({ type: 'connection_init', payload: 'x' }) },
      closeCodes: [4400],
    }),
    ws('ws-order', 'authorization is a number', () => [sub('1', { query: '{ me { id } }' })], {
      init: { raw: msg({ type: 'connection_init', payload: { authorization: 42 } }) },
      closeCodes: [4403],
      mayStayOpen: true,
    }),
    ws('ws-order', 'SQL as the token', () => [sub('1', { query: '{ me { id } }' })], {
      init: { raw: msg({ type: 'connection_init', payload: { authorization: "Bearer ' OR 1=1 --" } }) },
      closeCodes: [4403],
      mayStayOpen: true,
    }),
    ws('ws-order', '10 KB token', () => [sub('1', { query: '{ me { id } }' })], {
      init: {
        raw: msg({ type: 'connection_init', payload: { authorization: `Bearer ${'x'.repeat(10_000)}` } }),
      },
      closeCodes: [4403],
      mayStayOpen: true,
    }),
    ws('ws-order', 'token under __proto__', () => [sub('1', { query: '{ me { id } }' })], {
      init: { raw: '{"type":"connection_init","payload":{"__proto__":{"authorization":"Bearer x"}}}' },
      closeCodes: [4403],
      mayStayOpen: true,
    }),
    ws('ws-id', 'duplicate ids', () => [sub('1', LIVE), sub('1', LIVE)], { closeCodes: [4409] }),
    ...['__proto__', 'constructor', 'toString'].map((id) =>
      ws('ws-id', `id ${id}`, () => [sub(id, { query: '{ __typename }' })], {
        closeCodes: [4409],
        mayStayOpen: true,
      }),
    ),
    ws('ws-id', 'empty id', () => [sub('', { query: '{ __typename }' })], {
      closeCodes: [4400],
      mayStayOpen: true,
    }),
    ws('ws-id', '10 KB id', () => [sub('i'.repeat(10_000), { query: '{ __typename }' })]),
    ws('ws-id', 'id reused after complete', () => [
      sub('1', LIVE),
      msg({ id: '1', type: 'complete' }),
      sub('1', LIVE),
    ]),
    ws('ws-frame', 'binary frame with a valid message', () => [
      Buffer.from(sub('1', { query: '{ __typename }' })),
    ]),
    ws('ws-frame', 'binary frame of invalid UTF-8', () => [Buffer.from([0xff, 0xfe, 0xc0, 0xaf])], bad),
    ws(
      'ws-frame',
      'message just over 1 MiB',
      () => [sub('1', { query: `{ __typename }#${'x'.repeat(MiB)}` })],
      {
        closeCodes: [1009, 4400, 4413],
      },
    ),
    ws('ws-frame', 'message just under 1 MiB', () => [
      sub('1', { query: `{ __typename }#${'x'.repeat(MiB - 200)}` }),
    ]),
    ws('deep', '10,000 nested lists in variables', () => [
      `{"id":"1","type":"subscribe","payload":{"query":${JSON.stringify(CHANGES_T)},"variables":{"t":${nestedLists(10_000)}}}}`,
    ]),
    ws('deep', '10,000 nested list literals in the document', () => [
      sub('1', { query: `subscription { changes(tables: ${nestedLists(10_000)}) { cursor } }` }),
    ]),
    ws('subprotocol', 'legacy graphql-ws subprotocol', () => [], {
      subprotocol: 'graphql-ws',
      init: 'skip',
      closeCodes: [4406],
    }),
    ws('subprotocol', 'no subprotocol', () => [], { subprotocol: null, init: 'skip', closeCodes: [4406] }),
  ];
}

/**
 * The hostile-input corpus, raw HTTP: bodies that are not (valid) GraphQL-over-HTTP JSON
 * (malformed JSON, wrong shapes, duplicate keys, BOM, overlong and invalid UTF-8, other
 * charsets), numbers JSON can write but JavaScript cannot hold, 10,000 to 50,000 levels of nesting
 * in variables and documents, other content types and methods, odd headers, GET, and Yoga's
 * subscriptions over HTTP by SSE GET and POST.
 */
import type { Expect, Fixtures, Who } from './hostile-corpus.ts';
import { STALE_VERSION } from './hostile-corpus.ts';
import { CHANGES_T, nestedLists, nestedObjects, SEARCH } from './hostile-documents.ts';

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

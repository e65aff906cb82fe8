/**
 * The hostile-input corpus, raw graphql-ws traffic: malformed messages, wrong and server-only
 * message types, messages out of order, odd tokens in connection_init, duplicate and prototype
 * ids, binary frames, messages around the 1 MiB payload limit, deep nesting, other subprotocols.
 * Each names the close code graphql-ws (or the WebSocket layer) must answer with; a socket that
 * stays open must still answer a probe.
 */
import type { Fixtures, Who } from './hostile-corpus.ts';
import { CHANGES_T, MiB, nestedLists } from './hostile-documents.ts';

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

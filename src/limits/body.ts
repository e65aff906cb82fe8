/**
 * Request size: POST bodies, GET URLs (graphql-ws messages are bounded by the WebSocket server's
 * maxPayload, set to the same limit in app.ts). Yoga counts a POST body's bytes as they arrive and
 * refuses a declared Content-Length over the limit before reading anything (its
 * `maxRequestBodySize`, set to MAX_BODY_BYTES); this plugin bounds GET URLs, which Yoga does not,
 * and answers every one of these refusals as PAYLOAD_TOO_LARGE (HTTP 413, connection closed)
 * instead of Yoga's REQUEST_ENTITY_TOO_LARGE.
 * Node's own header limit (16 KiB by default) answers a longer URL with a bare 431 first.
 */
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { WebSocket } from 'ws';
import type { Logger } from '../logger.ts';
import { payloadTooLarge } from './errors.ts';

export function useBodyLimit(maxBytes: number): Plugin {
  return {
    onRequestParse({ request }) {
      if (request.method !== 'GET') return;
      if (request.url.length > maxBytes) throw payloadTooLarge('the URL', maxBytes);
      // Yoga's GET parser JSON.parses these without a guard (an HTTP 500): refuse them plainly.
      const search = new URL(request.url).searchParams;
      for (const name of ['variables', 'extensions']) {
        const text = search.get(name);
        if (text === null || text === '') continue;
        try {
          JSON.parse(text);
        } catch {
          throw createGraphQLError(`Request refused: the "${name}" parameter is not valid JSON`, {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        }
      }
    },
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !('errors' in result)) return;
      if (result.errors?.some((e) => e.extensions?.code === 'REQUEST_ENTITY_TOO_LARGE'))
        setResult({ errors: [payloadTooLarge('the request body', maxBytes)] });
    },
  };
}

/**
 * ws refuses a graphql-ws message over its maxPayload (MAX_BODY_BYTES) by closing the socket with
 * 1009 and emitting `error`, which graphql-ws prints with console.error on every such message.
 * This logs it once through pino instead (the socket closes all the same).
 */
export function logOversizedMessages(ws: WebSocket, log: Logger, maxBytes: number): void {
  const emit = ws.emit.bind(ws);
  ws.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (
      event === 'error' &&
      (args[0] as { code?: string } | undefined)?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
    ) {
      log.warn({ maxBytes }, 'graphql-ws message over MAX_BODY_BYTES: socket closed (1009)');
      return true;
    }
    return emit(event, ...args);
  }) as typeof ws.emit;
}

/** graphql-ws message types only a server sends: from a client they are a protocol error. */
const SERVER_ONLY = new Set(['connection_ack', 'next', 'error']);

/**
 * graphql-ws answers a client message of a server-only type by throwing inside its message
 * handler, which closes the socket with 4500 (internal error) and prints to stderr each time: a
 * way to flood the log. This closes such a socket with 4400 (bad request) before graphql-ws sees
 * the message, and logs at debug level. Other messages pass through untouched.
 */
export function refuseServerOnlyMessages(ws: WebSocket, log: Logger): void {
  const emit = ws.emit.bind(ws);
  ws.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === 'message') {
      let type: unknown;
      try {
        type = (JSON.parse(String(args[0])) as { type?: unknown } | null)?.type;
      } catch {
        type = undefined; // graphql-ws itself refuses what is not JSON (4400)
      }
      if (typeof type === 'string' && SERVER_ONLY.has(type)) {
        log.debug({ type }, 'graphql-ws: a client sent a server-only message; socket closed (4400)');
        ws.close(4400, `Invalid message: "${type}" is sent only by the server`);
        return true;
      }
    }
    return emit(event, ...args);
  }) as typeof ws.emit;
}

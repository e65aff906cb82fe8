/**
 * Request size: POST bodies, GET URLs (graphql-ws messages are bounded by the WebSocket server's
 * maxPayload, set to the same limit in app.ts). Yoga counts a POST body's bytes as they arrive and
 * refuses a declared Content-Length over the limit before reading anything (its
 * `maxRequestBodySize`, set to MAX_BODY_BYTES); this plugin bounds GET URLs, which Yoga does not,
 * and answers every one of these refusals as PAYLOAD_TOO_LARGE (HTTP 413, connection closed)
 * instead of Yoga's REQUEST_ENTITY_TOO_LARGE.
 * Node's own header limit (16 KiB by default) answers a longer URL with a bare 431 first.
 */
import type { Plugin } from 'graphql-yoga';
import type { WebSocket } from 'ws';
import type { Logger } from '../logger.ts';
import { payloadTooLarge } from './errors.ts';

export function useBodyLimit(maxBytes: number): Plugin {
  return {
    onRequestParse({ request }) {
      if (request.method === 'GET' && request.url.length > maxBytes)
        throw payloadTooLarge('the URL', maxBytes);
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

/**
 * The two refusals of this folder, as GraphQL errors with a code a client can test, naming the
 * rule and the limit (and its variable) in the message.
 */
import { createGraphQLError } from 'graphql-yoga';
import { type DocumentLimits, LIMIT_VARIABLES } from './defaults.ts';

/** A document refused by a rule: QUERY_TOO_COMPLEX, HTTP 400. */
export function tooComplex(reason: string) {
  return createGraphQLError(`Query refused: ${reason}`, {
    extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
  });
}

/** A document over one of the configured limits; `found` when it is known. */
export function overLimit(what: string, limit: keyof DocumentLimits, value: number, found?: number) {
  const measured =
    found === undefined
      ? `more than ${value} ${what}`
      : `${Number.isSafeInteger(found) ? found : `more than ${Number.MAX_SAFE_INTEGER}`} ${what}`;
  return tooComplex(`${measured}; the limit is ${value} (${LIMIT_VARIABLES[limit]})`);
}

/**
 * A request over MAX_BODY_BYTES: PAYLOAD_TOO_LARGE, HTTP 413. The connection is closed after the
 * answer, so the rest of a large body is not read only to be thrown away.
 */
export function payloadTooLarge(what: string, maxBytes: number) {
  return createGraphQLError(
    `Request refused: ${what} is over the limit of ${maxBytes} bytes (${LIMIT_VARIABLES.maxBodyBytes})`,
    { extensions: { code: 'PAYLOAD_TOO_LARGE', http: { status: 413, headers: { connection: 'close' } } } },
  );
}

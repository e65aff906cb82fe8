/**
 * Everything that bounds what one GraphQL request may cost before it runs, for Yoga (and through
 * yoga.getEnveloped, graphql-ws): body size (body.ts), tokens, aliases, depth and directives
 * (armor.ts), bracket and variable nesting before the parser recurses (nesting.ts), cost and `login` selections (cost.ts, operation.ts), and a parse/validate cache
 * that keeps only accepted documents (cache.ts). Every refusal is a GraphQL error with extensions.code
 * QUERY_TOO_COMPLEX or PAYLOAD_TOO_LARGE (errors.ts), decided in time linear in the request.
 */
import type { Plugin } from 'graphql-yoga';
import { useArmor } from './armor.ts';
import { useBodyLimit } from './body.ts';
import { boundedDocumentCache } from './cache.ts';
import type { DocumentLimits } from './defaults.ts';
import { useNestingLimit } from './nesting.ts';
import { costRule, useCostWhenRunning } from './operation.ts';

export { logOversizedMessages, refuseServerOnlyMessages } from './body.ts';
export { DEFAULT_DOCUMENT_LIMITS, type DocumentLimits } from './defaults.ts';

/** Yoga options (spread them into createYoga; add `plugins` to its list). */
export function documentLimits(limits: DocumentLimits) {
  const cache = boundedDocumentCache(limits.documentCacheChars);
  const rule = costRule(limits.maxCost);
  const plugins: Plugin[] = [
    useBodyLimit(limits.maxBodyBytes),
    useNestingLimit(limits.maxNesting),
    useArmor(limits),
    {
      onValidate({ addValidationRule }) {
        addValidationRule(rule);
      },
    },
    useCostWhenRunning(limits.maxCost),
    cache.plugin,
  ];
  return {
    plugins,
    maxRequestBodySize: limits.maxBodyBytes,
    parserAndValidationCache: cache.options,
    cache,
  };
}

/**
 * Yoga's parse/validate cache (parserAndValidationCache), bounded and admitting only accepted
 * documents. Yoga keeps every parsed document and every parse error under its full source text
 * (1,024 of each, an hour), before validation: 1,024 refused 1 MB documents would stay in memory.
 *
 * Guarantees:
 * - a document is kept only once it has parsed and passed validation, every limit checked there
 *   included; a document refused or invalid is never kept (nor, through Yoga's WeakMap, its
 *   validation result). One refused only when it runs, for the `first` its variables ask for,
 *   stays: with other variables it may run;
 * - parse errors are never kept (a refused document costs at most MAX_TOKENS tokens to re-parse);
 * - the kept documents' source texts total at most `maxChars` characters, each at most 1/32 of
 *   that (least recently used dropped first, an hour at most).
 */
import type { DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';

export function boundedDocumentCache(maxChars: number) {
  const maxEntryChars = Math.max(1, Math.floor(maxChars / 32));
  const accepted = new LRUCache<string, DocumentNode>({
    maxSize: Math.max(1, maxChars),
    maxEntrySize: maxEntryChars,
    sizeCalculation: (_doc, source) => Math.max(1, source.length),
    ttl: 3_600_000,
  });
  /** Parsed, not yet validated: kept only as long as the document itself lives. */
  const parsed = new WeakMap<DocumentNode, string>();
  return {
    /** Yoga's `parserAndValidationCache` option. */
    options: {
      documentCache: {
        get: (source: string) => accepted.get(source),
        set: (source: string, document: DocumentNode) => {
          if (source.length <= maxEntryChars) parsed.set(document, source);
        },
      },
      errorCache: { get: () => undefined, set: () => {} },
      validationCache: true,
    },
    /** Admits a document once validation passed it. */
    plugin: {
      onValidate({ params }) {
        return ({ valid }) => {
          const source = parsed.get(params.documentAST);
          if (!valid || source === undefined) return;
          parsed.delete(params.documentAST);
          accepted.set(source, params.documentAST);
        };
      },
    } satisfies Plugin,
    /** For tests: the number of documents kept. */
    size: () => accepted.size,
  };
}

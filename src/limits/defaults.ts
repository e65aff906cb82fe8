/**
 * The limits every GraphQL document and request body is held to, and their defaults: the one
 * place they are defined (config.ts takes its defaults from here, buildApp fills in the rest).
 * No imports, so config.ts can read them without loading the GraphQL stack.
 */
export interface DocumentLimits {
  /** POST bodies, GET URLs and graphql-ws messages, in bytes (MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** Lexical tokens in a document, counted while parsing (MAX_TOKENS). */
  maxTokens: number;
  /** Nested field selections, fragments followed (MAX_DEPTH). */
  maxDepth: number;
  /** Aliased fields in an operation, fragments followed, `__typename` included (MAX_ALIASES). */
  maxAliases: number;
  /** Bracket nesting in a document's source and nesting in its variables, checked before parsing (MAX_NESTING). */
  maxNesting: number;
  /** Directives in an operation, fragments followed (MAX_DIRECTIVES). */
  maxDirectives: number;
  /** Fields an operation may resolve, multiplied by list sizes (MAX_COST; see cost.ts). */
  maxCost: number;
  /** Source text of parsed documents kept in the parse/validate cache, in characters (DOCUMENT_CACHE_CHARS). */
  documentCacheChars: number;
}

export const DEFAULT_DOCUMENT_LIMITS: DocumentLimits = {
  maxBodyBytes: 1024 * 1024,
  maxTokens: 5000,
  maxDepth: 12,
  maxAliases: 50,
  maxNesting: 64,
  maxDirectives: 20,
  maxCost: 50_000,
  documentCacheChars: 1024 * 1024,
};

/** The environment variable of each limit, named in refusal messages. */
export const LIMIT_VARIABLES: Record<keyof DocumentLimits, string> = {
  maxBodyBytes: 'MAX_BODY_BYTES',
  maxTokens: 'MAX_TOKENS',
  maxDepth: 'MAX_DEPTH',
  maxAliases: 'MAX_ALIASES',
  maxNesting: 'MAX_NESTING',
  maxDirectives: 'MAX_DIRECTIVES',
  maxCost: 'MAX_COST',
  documentCacheChars: 'DOCUMENT_CACHE_CHARS',
};

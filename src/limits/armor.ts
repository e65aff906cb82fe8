/**
 * The limits graphql-armor enforces for us, with our refusals: tokens (counted by the lexer while
 * parsing, so an oversized document stops at token MAX_TOKENS + 1), aliases, depth and
 * directives (validation rules, each fragment measured once). Armor's own messages read
 * "Syntax Error: ..." without a code; its onReject hook throws ours instead.
 * Its costLimit is off (cost.ts replaces it) and so is its field-suggestion masking (the schema is
 * public through introspection anyway).
 */
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { DocumentLimits } from './defaults.ts';
import { overLimit } from './errors.ts';

/** Armor's messages end in "found N." when the figure is known (not for tokens). */
const found = (err: GraphQLError) => {
  const m = /found (\d+)/.exec(err.message);
  return m ? Number(m[1]) : undefined;
};

function refuse(what: string, limit: keyof DocumentLimits, limits: DocumentLimits) {
  return {
    n: limits[limit],
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (_ctx: unknown, err: GraphQLError) => {
        throw overLimit(what, limit, limits[limit], found(err));
      },
    ],
  };
}

export function useArmor(limits: DocumentLimits): Plugin {
  return EnvelopArmorPlugin({
    blockFieldSuggestion: { enabled: false },
    costLimit: { enabled: false },
    maxTokens: refuse('tokens', 'maxTokens', limits),
    maxAliases: { ...refuse('aliases', 'maxAliases', limits), allowList: [] },
    maxDepth: { ...refuse('levels of nesting', 'maxDepth', limits), flattenFragments: true },
    maxDirectives: refuse('directives', 'maxDirectives', limits),
  }) as Plugin;
}

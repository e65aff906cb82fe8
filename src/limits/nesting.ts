/**
 * Nesting of what the parser and JSON tools walk recursively: brackets in the document source
 * (list and object literals, argument lists, selection sets) and the variables' JSON. graphql-js
 * parses values by recursion, so ten thousand nested `[` overflow the stack (a RangeError, seen as
 * HTTP 500) before the token limit is reached; JSON.stringify of deeply nested variables (the
 * fan-out's group key) does the same. Both are measured here first, in one linear pass without
 * recursion, and refused as QUERY_TOO_COMPLEX. graphql-armor's maxDepth counts selection depth
 * only after parsing, so it cannot stop this; no library measures it before the parser.
 */
import type { Plugin } from 'graphql-yoga';
import { overLimit } from './errors.ts';

/** The deepest bracket nesting of a GraphQL source, skipping strings, block strings and comments. */
export function sourceNesting(source: string): number {
  let depth = 0;
  let max = 0;
  const n = source.length;
  for (let i = 0; i < n; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x23 /* # */) {
      while (i < n && source.charCodeAt(i) !== 0x0a && source.charCodeAt(i) !== 0x0d) i++;
    } else if (c === 0x22 /* " */) {
      if (source.startsWith('"""', i)) {
        const end = source.indexOf('"""', i + 3);
        // Escaped \""" inside a block string: keep looking past it.
        let e = end;
        while (e > 0 && source.charCodeAt(e - 1) === 0x5c) e = source.indexOf('"""', e + 3);
        i = e < 0 ? n : e + 2;
      } else {
        for (i++; i < n; i++) {
          const s = source.charCodeAt(i);
          if (s === 0x5c) i++;
          else if (s === 0x22 || s === 0x0a || s === 0x0d) break;
        }
      }
    } else if (c === 0x5b || c === 0x7b || c === 0x28 /* [ { ( */) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d || c === 0x29 /* ] } ) */) {
      depth--;
    }
  }
  return max;
}

/** Whether a JSON value nests deeper than `max` arrays/objects (iterative, stops at the first). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (d + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
    }
  }
  return false;
}

/**
 * Refuses, before parsing, a document whose brackets nest deeper than `maxNesting` and variables
 * that nest deeper than `maxNesting`. Works for HTTP and graphql-ws alike: both pass `params` in
 * the context envelop's parse sees.
 */
export function useNestingLimit(maxNesting: number): Plugin {
  return {
    onParse({ params, context }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      const found = sourceNesting(source);
      if (found > maxNesting) throw overLimit('levels of brackets', 'maxNesting', maxNesting, found);
      const variables = (context as { params?: { variables?: unknown } }).params?.variables;
      if (nestsDeeperThan(variables, maxNesting))
        throw overLimit('levels of nesting in the variables', 'maxNesting', maxNesting);
    },
  };
}

/**
 * Request-level authentication gate (a Yoga/envelop plugin). Without a valid token an operation
 * may only select `login`, `health` and introspection (`__schema`, `__type`, `__typename`) at its
 * root; anything else fails as a whole, before any resolver runs, with
 * `extensions.code = UNAUTHENTICATED` (what urql's auth exchange looks for). Applies to queries,
 * mutations and subscriptions over HTTP, SSE and graphql-ws alike.
 */
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { Context } from '../context.ts';

const PUBLIC_ROOT_FIELDS = new Set(['login', 'health', '__schema', '__type', '__typename']);

export function unauthenticated() {
  return createGraphQLError('Authentication required: send Authorization: Bearer <token> (see login)', {
    extensions: { code: 'UNAUTHENTICATED' },
  });
}

function rootFieldNames(
  set: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  out: Set<string>,
  seen = new Set<string>(),
): Set<string> {
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) out.add(sel.name.value);
    else if (sel.kind === Kind.INLINE_FRAGMENT) rootFieldNames(sel.selectionSet, fragments, out, seen);
    else if (!seen.has(sel.name.value)) {
      seen.add(sel.name.value);
      const fragment = fragments.get(sel.name.value);
      if (fragment) rootFieldNames(fragment.selectionSet, fragments, out, seen);
    }
  }
  return out;
}

/** Whether the operation that would run selects only public root fields. */
export function isPublicOperation(document: DocumentNode, operationName?: string | null): boolean {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    else if (def.kind === Kind.OPERATION_DEFINITION) operations.push(def);
  }
  const op = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (!op) return true; // graphql-js itself reports the missing operation
  return [...rootFieldNames(op.selectionSet, fragments, new Set())].every((f) => PUBLIC_ROOT_FIELDS.has(f));
}

export function useAuthGate(): Plugin<Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as Context;
      if (!ctx.viewer && !isPublicOperation(args.document, args.operationName)) {
        setResultAndStopExecution({ errors: [unauthenticated()] });
      }
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as Context;
      if (!ctx.viewer && !isPublicOperation(args.document, args.operationName)) {
        setResultAndStopExecution({ errors: [unauthenticated()] });
      }
    },
  };
}

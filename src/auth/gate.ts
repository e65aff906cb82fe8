/**
 * Request-level authentication gate (a Yoga/envelop plugin). Without a valid token an operation
 * may only select `login`, `health` and introspection (`__schema`, `__type`, `__typename`) at its
 * root; anything else fails as a whole, before any resolver runs, with
 * `extensions.code = UNAUTHENTICATED` (what urql's auth exchange looks for). A user whose password
 * was set by an administrator (createUser, resetPassword) may only select `changePassword`,
 * `logout` and `me` until they change it; anything else fails with `PASSWORD_CHANGE_REQUIRED`.
 * Applies to queries, mutations and subscriptions over HTTP, SSE and graphql-ws alike.
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

/**
 * What a user whose password must be changed (after createUser or resetPassword) may still do:
 * change it, sign out, and see who they are.
 */
const PASSWORD_CHANGE_ROOT_FIELDS = new Set([...PUBLIC_ROOT_FIELDS, 'changePassword', 'logout', 'me']);

export function passwordChangeRequired() {
  return createGraphQLError('Change your password first (changePassword): it was set by an administrator', {
    extensions: { code: 'PASSWORD_CHANGE_REQUIRED' },
  });
}

/** Whether the operation that would run selects only public root fields. */
export function isPublicOperation(document: DocumentNode, operationName?: string | null): boolean {
  return selectsOnly(document, operationName, PUBLIC_ROOT_FIELDS);
}

/** Whether the operation that would run selects only root fields of `allowed`. */
function selectsOnly(
  document: DocumentNode,
  operationName: string | null | undefined,
  allowed: Set<string>,
): boolean {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    else if (def.kind === Kind.OPERATION_DEFINITION) operations.push(def);
  }
  const op = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (!op) return true; // graphql-js itself reports the missing operation
  return [...rootFieldNames(op.selectionSet, fragments, new Set())].every((f) => allowed.has(f));
}

/** The refusal for this operation and context, if any. */
function refusal(ctx: Context, document: DocumentNode, operationName?: string | null) {
  if (!ctx.viewer) return isPublicOperation(document, operationName) ? undefined : unauthenticated();
  if (ctx.viewer.mustChangePassword && !selectsOnly(document, operationName, PASSWORD_CHANGE_ROOT_FIELDS))
    return passwordChangeRequired();
  return undefined;
}

export function useAuthGate(): Plugin<Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = refusal(args.contextValue as Context, args.document, args.operationName);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = refusal(args.contextValue as Context, args.document, args.operationName);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}

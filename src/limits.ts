/**
 * Query limits (a Yoga/envelop plugin), checked during validation, before anything runs:
 * selection depth (following fragments) and the number of field selections in a document, a
 * simple cost bound. A document over a limit fails as a whole with a GraphQL error whose
 * extensions.code is QUERY_TOO_COMPLEX. Request bodies are bounded by Yoga's parser limits.
 */
import {
  type ASTVisitor,
  type FragmentDefinitionNode,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

export interface QueryLimits {
  maxDepth: number;
  maxFields: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxDepth: 12, maxFields: 1500 };

function measure(
  set: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  depth: number,
  visiting: Set<string>,
): { depth: number; fields: number } {
  let max = depth;
  let fields = 0;
  for (const sel of set.selections) {
    let child: SelectionSetNode | undefined;
    let next = depth;
    if (sel.kind === Kind.FIELD) {
      fields++;
      if (sel.name.value.startsWith('__')) continue;
      child = sel.selectionSet;
      next = depth + 1;
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      child = sel.selectionSet;
    } else if (!visiting.has(sel.name.value)) {
      child = fragments.get(sel.name.value)?.selectionSet;
      visiting.add(sel.name.value);
    }
    if (!child) {
      max = Math.max(max, next);
      continue;
    }
    const m = measure(child, fragments, next, visiting);
    if (sel.kind === Kind.FRAGMENT_SPREAD) visiting.delete(sel.name.value);
    max = Math.max(max, m.depth);
    fields += m.fields;
  }
  return { depth: max, fields };
}

export function queryLimitsRule(limits: QueryLimits) {
  return (context: ValidationContext): ASTVisitor => {
    const doc = context.getDocument();
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of doc.definitions)
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    return {
      OperationDefinition(node) {
        const { depth, fields } = measure(node.selectionSet, fragments, 0, new Set());
        const problem =
          depth > limits.maxDepth
            ? `Query is nested ${depth} levels deep; the limit is ${limits.maxDepth}`
            : fields > limits.maxFields
              ? `Query selects ${fields} fields; the limit is ${limits.maxFields}`
              : null;
        if (problem) {
          context.reportError(
            createGraphQLError(problem, { nodes: [node], extensions: { code: 'QUERY_TOO_COMPLEX' } }),
          );
        }
      },
    };
  };
}

export function useQueryLimits(limits: QueryLimits = DEFAULT_LIMITS): Plugin {
  const rule = queryLimitsRule(limits);
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}

/**
 * The cost of an operation and its `login` selections, measured in one walk of the document.
 * operation.ts refuses with it; written here because no library does it: graphql-armor's
 * costLimit multiplies only by a literal `first`/`last` (so `first: $n` escapes it) and knows
 * neither the default page size nor lists without arguments, such as `Order.items`.
 *
 * Guarantees:
 * - every field selected costs 1 (`__typename` included), plus its sub-selection's cost times the
 *   size of the list it returns: `first` of a connection (a variable: its value when given, else
 *   the least it can be, 1; none: the default page), or the size in LIST_SIZES of a plain list;
 *   aliases, inline fragments and fragment spreads all add up, as if expanded;
 * - linear in the document: each fragment is measured once and every spread of it adds the
 *   memoised figure, so a fragment fan-out (each spreading the next twice) is measured in
 *   microseconds while its cost doubles per level.
 *
 * Not guaranteed: the sizes of plain lists are what we assume, not caps (an order may have up to
 * 200 lines; a product has a stock level per branch); a list longer than assumed costs more than
 * measured. Introspection lists count 1 each: graphql-js's MaxIntrospectionDepthRule bounds them.
 */
import type {
  FieldNode,
  FragmentDefinitionNode,
  GraphQLField,
  GraphQLNamedType,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
} from 'graphql';
import { graphql } from '../listeners/graphql.ts';
import { HISTORY_LIMIT } from '../resolvers/history.ts';
import { LIMITS } from '../resolvers/validate.ts';

/** Branches assumed for lists with one entry per branch ("several shops"). */
export const ASSUMED_BRANCHES = 20;

/** Lines assumed per order (placeOrder allows LIMITS.maxOrderItems; the sample orders have 1-5). */
export const ASSUMED_ORDER_LINES = 20;

/** Sizes of the schema's lists that take no `first`; any other list counts DEFAULT_LIST_SIZE. */
export const LIST_SIZES: Record<string, number> = {
  'Order.items': ASSUMED_ORDER_LINES,
  'Product.stockLevels': ASSUMED_BRANCHES,
  'User.branches': ASSUMED_BRANCHES,
  'Query.history': HISTORY_LIMIT,
};
export const DEFAULT_LIST_SIZE = LIMITS.defaultPage;

export interface Measure {
  cost: number;
  /** `login` selections at the root of a mutation, fragments followed. */
  logins: number;
}

/** Variable values of the operation, defaults applied; undefined while they are not known yet. */
export type Variables = Record<string, unknown> | undefined;

function pageSize(node: FieldNode, variables: Variables): number {
  const first = node.arguments?.find((a) => a.name.value === 'first')?.value;
  if (!first || first.kind === graphql.Kind.NULL) return LIMITS.defaultPage;
  if (first.kind === graphql.Kind.INT) return Math.max(1, Number(first.value));
  if (first.kind !== graphql.Kind.VARIABLE) return LIMITS.maxPage;
  if (!variables) return 1;
  const value = variables[first.name.value];
  return typeof value === 'number' ? Math.max(1, value) : LIMITS.defaultPage;
}

/** How many times a field's sub-selection runs. */
function multiplier(
  parent: GraphQLNamedType,
  node: FieldNode,
  schemaField: GraphQLField<unknown, unknown>,
  variables: Variables,
) {
  if (schemaField.args.some((a) => a.name === 'first')) return pageSize(node, variables);
  if (!graphql.isListType(graphql.getNullableType(schemaField.type))) return 1;
  if (parent.name.startsWith('__')) return 1;
  // The connection field counted the page already.
  if (parent.name.endsWith('Connection') && schemaField.name === 'edges') return 1;
  return LIST_SIZES[`${parent.name}.${schemaField.name}`] ?? DEFAULT_LIST_SIZE;
}

/** Measures the operations of one document; fragments are measured once and shared. */
export class CostMeter {
  private readonly memo = new Map<string, Measure | null>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Map<string, FragmentDefinitionNode>,
    private readonly variables?: Variables,
  ) {}

  operation(op: OperationDefinitionNode): Measure {
    const root =
      op.operation === 'query'
        ? this.schema.getQueryType()
        : op.operation === 'mutation'
          ? this.schema.getMutationType()
          : this.schema.getSubscriptionType();
    return this.selectionSet(op.selectionSet, root ?? undefined);
  }

  private selectionSet(set: SelectionSetNode, parent: GraphQLNamedType | undefined): Measure {
    const total: Measure = { cost: 0, logins: 0 };
    const mutation = this.schema.getMutationType();
    for (const sel of set.selections) {
      let m: Measure;
      if (sel.kind === graphql.Kind.FIELD) {
        const schemaField =
          graphql.isObjectType(parent) || graphql.isInterfaceType(parent)
            ? parent.getFields()[sel.name.value]
            : undefined;
        m = {
          cost: 1,
          logins: parent !== undefined && parent === mutation && sel.name.value === 'login' ? 1 : 0,
        };
        if (sel.selectionSet) {
          const child = this.selectionSet(
            sel.selectionSet,
            schemaField ? graphql.getNamedType(schemaField.type) : undefined,
          );
          const times = parent && schemaField ? multiplier(parent, sel, schemaField, this.variables) : 1;
          m.cost += times * child.cost;
          m.logins += child.logins;
        }
      } else if (sel.kind === graphql.Kind.INLINE_FRAGMENT) {
        const type = sel.typeCondition ? this.schema.getType(sel.typeCondition.name.value) : parent;
        m = this.selectionSet(sel.selectionSet, type ?? undefined);
      } else {
        m = this.fragment(sel.name.value);
      }
      total.cost += m.cost;
      total.logins += m.logins;
    }
    return total;
  }

  private fragment(name: string): Measure {
    const known = this.memo.get(name);
    // null: a cycle, which graphql-js's NoFragmentCyclesRule reports.
    if (known !== undefined) return known ?? { cost: 0, logins: 0 };
    const def = this.fragments.get(name);
    if (!def) return { cost: 0, logins: 0 };
    this.memo.set(name, null);
    const m = this.selectionSet(
      def.selectionSet,
      this.schema.getType(def.typeCondition.name.value) ?? undefined,
    );
    this.memo.set(name, m);
    return m;
  }
}

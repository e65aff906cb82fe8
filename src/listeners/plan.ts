/**
 * A faster execution of a grouped subscription document against its events (fanout.ts runs one
 * per event and group live, and one per change and member in catch-up). graphql's `execute`
 * rebuilds the execution context, coerces the variables and the arguments and collects the fields
 * for every event; for a document that is one root field selecting leaf fields of an object type
 * (the usual `changes { cursor table op rowId version data }`), all of that is done once here, and
 * each event calls the same resolvers and leaf serializers in the same order.
 *
 * Guarantees:
 * - For the documents it accepts, the same JSON as `JSON.stringify(execute(...))`: the schema's own
 *   resolvers (with the ResolveInfo graphql would build), the same leaf serialization, the same
 *   response keys in the same order.
 * - Anything else is not planned (null: the caller executes the ordinary way), and any event whose
 *   result is not plain data (a resolver throws or returns a promise, a non-null field is null, a
 *   leaf does not serialize, `isTypeOf` says no) gets null too: the caller then executes it with
 *   graphql, which produces the errors exactly as before. (Its resolvers then run a second time
 *   for that event.)
 */
import { createRequire } from 'node:module';
import type {
  ExecutionArgs,
  FieldNode,
  GraphQLField,
  GraphQLFieldResolver,
  GraphQLLeafType,
  GraphQLObjectType,
  GraphQLResolveInfo,
} from 'graphql';
import type { ExecutionContext } from 'graphql/execution/execute.js';
import { graphql } from './graphql.ts';

const { Kind, isLeafType, isListType, isNonNullType, isObjectType } = graphql;
// The same CommonJS build as ./graphql.ts (one realm for instanceof checks).
const require = createRequire(import.meta.url);
const { buildExecutionContext, buildResolveInfo } =
  require('graphql/execution/execute.js') as typeof import('graphql/execution/execute.js');
const { getArgumentValues } =
  require('graphql/execution/values.js') as typeof import('graphql/execution/values.js');

/** Executes the document for one event; null when this event must go through graphql's execute. */
export type Plan = (event: unknown) => string | null;

type Leaf = {
  key: string;
  resolve: GraphQLFieldResolver<unknown, unknown>;
  info: GraphQLResolveInfo;
  nonNull: boolean;
  /** For a list of leaves: whether its items are non-null. */
  list: { itemNonNull: boolean } | null;
  type: GraphQLLeafType;
};

const isPromiseLike = (v: unknown): boolean => typeof (v as { then?: unknown } | null)?.then === 'function';

function leafOf(
  exe: ExecutionContext,
  parent: GraphQLObjectType,
  node: FieldNode,
  path: GraphQLResolveInfo['path'],
): Leaf | null {
  const def: GraphQLField<unknown, unknown> | undefined = parent.getFields()[node.name.value];
  if (!def || def.args.length || node.arguments?.length || node.directives?.length || node.selectionSet) {
    return null;
  }
  let type = def.type;
  const nonNull = isNonNullType(type);
  if (isNonNullType(type)) type = type.ofType;
  let list: Leaf['list'] = null;
  if (isListType(type)) {
    let item = type.ofType;
    const itemNonNull = isNonNullType(item);
    if (isNonNullType(item)) item = item.ofType;
    list = { itemNonNull };
    type = item;
  }
  if (!isLeafType(type)) return null;
  const key = node.alias?.value ?? node.name.value;
  const info = buildResolveInfo(exe, def, [node], parent, { prev: path, key, typename: parent.name });
  return { key, resolve: def.resolve ?? exe.fieldResolver, info, nonNull, list, type };
}

/** The plan of a grouped subscription's execution, or null when it does not fit (see above). */
export function planOf(args: ExecutionArgs): Plan | null {
  try {
    return build(args);
  } catch {
    return null;
  }
}

function build(args: ExecutionArgs): Plan | null {
  const built = buildExecutionContext(args);
  if ('length' in built) return null;
  const exe: ExecutionContext = built;
  const root = exe.schema.getSubscriptionType();
  const only = exe.operation.selectionSet.selections;
  const node = only[0];
  if (!root || exe.operation.operation !== 'subscription' || only.length !== 1) return null;
  if (!node || node.kind !== Kind.FIELD || node.directives?.length || !node.selectionSet) return null;
  const rootDef = root.getFields()[node.name.value];
  if (!rootDef) return null;
  let type = rootDef.type;
  const rootNonNull = isNonNullType(type);
  if (isNonNullType(type)) type = type.ofType;
  if (!isObjectType(type)) return null;
  const object = type;
  const rootKey = node.alias?.value ?? node.name.value;
  const rootPath = { prev: undefined, key: rootKey, typename: root.name };
  const rootArgs = getArgumentValues(rootDef, node, exe.variableValues);
  const rootInfo = buildResolveInfo(exe, rootDef, [node], root, rootPath);
  const rootResolve = rootDef.resolve ?? exe.fieldResolver;
  const fields: (Leaf | { key: string; typename: string })[] = [];
  const keys = new Set<string>();
  for (const s of node.selectionSet.selections) {
    if (s.kind !== Kind.FIELD) return null;
    const key = s.alias?.value ?? s.name.value;
    // A response key asked twice merges in graphql: left to it.
    if (keys.has(key)) return null;
    keys.add(key);
    if (s.name.value === '__typename') {
      if (s.directives?.length) return null;
      fields.push({ key, typename: object.name });
      continue;
    }
    const leaf = leafOf(exe, object, s, rootPath);
    if (!leaf) return null;
    fields.push(leaf);
  }
  const ctx = exe.contextValue;
  return (event) => {
    try {
      const value = rootResolve(event, { ...rootArgs }, ctx, rootInfo);
      if (value === null || value === undefined) {
        return rootNonNull ? null : JSON.stringify({ data: { [rootKey]: null } });
      }
      if (isPromiseLike(value)) return null;
      if (object.isTypeOf) {
        const ok = object.isTypeOf(value, ctx, rootInfo);
        if (ok !== true) return null;
      }
      const out: Record<string, unknown> = {};
      for (const f of fields) {
        if ('typename' in f) {
          out[f.key] = f.typename;
          continue;
        }
        const v = f.resolve(value, {}, ctx, f.info);
        if (v === null || v === undefined) {
          if (f.nonNull) return null;
          out[f.key] = null;
        } else if (isPromiseLike(v)) {
          return null;
        } else if (f.list) {
          if (!Array.isArray(v)) return null;
          const items: unknown[] = [];
          for (const item of v) {
            if (item === null || item === undefined) {
              if (f.list.itemNonNull) return null;
              items.push(null);
            } else {
              const s = f.type.serialize(item);
              if (s === null || s === undefined) return null;
              items.push(s);
            }
          }
          out[f.key] = items;
        } else {
          const s = f.type.serialize(v);
          if (s === null || s === undefined) return null;
          out[f.key] = s;
        }
      }
      return JSON.stringify({ data: { [rootKey]: out } });
    } catch {
      return null;
    }
  };
}

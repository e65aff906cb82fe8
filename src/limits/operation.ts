/**
 * Refusals by cost (MAX_COST) and by `login` selections (at most one per operation), twice with
 * the same measure (cost.ts):
 * - when validation enters the document, before any other rule walks it, with variables not yet
 *   known (a `first: $n` counts 1, the least it can be): a fan-out or a heavy literal query never
 *   gets further, and is never cached;
 * - when the operation runs (envelop's onExecute and onSubscribe, so HTTP, SSE and graphql-ws
 *   alike), with the variables it was sent: `first: $n` counts as n.
 * Both throw or answer QUERY_TOO_COMPLEX naming the cost and the limit.
 */
import type {
  DocumentNode,
  ExecutionArgs,
  FragmentDefinitionNode,
  OperationDefinitionNode,
  ValidationRule,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { graphql } from '../listeners/graphql.ts';
import { CostMeter, type Variables } from './cost.ts';
import { overLimit, tooComplex } from './errors.ts';

function fragmentsOf(document: DocumentNode) {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions)
    if (def.kind === graphql.Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  return fragments;
}

function refusal(measured: { cost: number; logins: number }, maxCost: number) {
  if (measured.logins > 1)
    return tooComplex(
      `${measured.logins} selections of login in one operation; the limit is 1 (one password per request)`,
    );
  if (measured.cost > maxCost)
    return overLimit('cost units (fields times list sizes)', 'maxCost', maxCost, measured.cost);
  return null;
}

/** The validation rule: every operation of the document, variables unknown. */
export function costRule(maxCost: number): ValidationRule {
  return function BranchlineCostRule(context) {
    return {
      Document(document) {
        const meter = new CostMeter(context.getSchema(), fragmentsOf(document));
        for (const def of document.definitions) {
          if (def.kind !== graphql.Kind.OPERATION_DEFINITION) continue;
          const error = refusal(meter.operation(def), maxCost);
          if (error) throw error;
        }
        return false;
      },
    };
  };
}

/** The variables an operation runs with: those sent, else the defaults it declares. */
function withDefaults(op: OperationDefinitionNode, sent: Variables): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const def of op.variableDefinitions ?? [])
    if (def.defaultValue) values[def.variable.name.value] = graphql.valueFromASTUntyped(def.defaultValue);
  return { ...values, ...sent };
}

/** The check when the operation runs, with its variables. */
export function useCostWhenRunning(maxCost: number): Plugin {
  const check = (args: ExecutionArgs) => {
    const op = graphql.getOperationAST(args.document, args.operationName);
    if (!op) return null;
    const meter = new CostMeter(
      args.schema,
      fragmentsOf(args.document),
      withDefaults(op, args.variableValues ?? undefined),
    );
    return refusal(meter.operation(op), maxCost);
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}

// What one operation costs against a token's complexity budget: 1 per scalar value, 2 per
// object plus what it holds. Before execution the cost is estimated from the document
// (graphql-query-complexity), where a connection holds its page size of nodes: `first`/`last`
// from a literal or a variable, else the default page size (50); after execution it is counted
// in the response, which holds at most that many. The estimate decides nothing on its own:
// it is reported as `requestedCost`, and the budget is charged what the response held (as
// Shopify's API does), so a deep query left at the default page sizes costs what it returned.
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import {
  Kind,
  getNamedType,
  getOperationAST,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
// graphql-js's own field collection (fragments, @skip/@include), as execution does it.
import { collectFields, collectSubfields } from 'graphql/execution/collectFields';
import { DEFAULT_PAGE_SIZE } from '../schema/pagination';

const SCALAR_COST = 1;
const OBJECT_COST = 2;

const estimateField: ComplexityEstimator = ({ field, args, childComplexity }) => {
  // Introspection (`__schema`, `__type`) is free, as for the static limit: GraphiQL stays usable.
  if (field.name.startsWith('__')) return 0;
  if (isLeafType(getNamedType(field.type))) return SCALAR_COST;
  // A connection's `first` has no schema default (so `last` alone pages backwards): its
  // resolver's default page size applies when neither is given.
  const isConnection = field.args.some((arg) => arg.name === 'first');
  const pageSize = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : isConnection ? DEFAULT_PAGE_SIZE : 1;
  return OBJECT_COST + childComplexity * Math.max(pageSize, 1);
};

/**
 * What a response's data holds, by the same weights: 1 per scalar value (and per null), 2 per
 * object plus its fields, every element of a list; the root fields are the operation's fields,
 * as in the estimate. The response is read along the operation's selections, so each value is
 * charged by the field that produced it, never by its response key: an alias is the client's
 * choice (`__x: organizations` costs what `organizations` costs). Only the introspection
 * fields themselves (`__schema`, `__type`, `__typename`) are free.
 */
export function responseCost(operation: ExecutedOperation, data: Record<string, unknown> | null): number {
  if (!data) return 0;
  const { schema, document, variableValues } = operation;
  const definition = getOperationAST(document, operation.operationName ?? undefined);
  const rootType = definition && schema.getRootType(definition.operation);
  if (!definition || !rootType) return 0;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const node of document.definitions) if (node.kind === Kind.FRAGMENT_DEFINITION) fragments[node.name.value] = node;
  const walk: Walk = { schema, fragments, variables: variableValues ?? {}, subfields: new Map() };
  return fieldsCost(walk, rootType, collectFields(schema, fragments, walk.variables, rootType, definition.selectionSet), data);
}

export interface ExecutedOperation {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
}

interface Walk {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  /** Each list's elements share their field nodes: their subfields are collected once. */
  subfields: Map<readonly FieldNode[], Map<string, readonly FieldNode[]>>;
}

function fieldsCost(walk: Walk, type: GraphQLObjectType, fields: Map<string, readonly FieldNode[]>, data: Record<string, unknown>): number {
  let cost = 0;
  for (const [responseKey, nodes] of fields) {
    const name = nodes[0].name.value;
    if (name.startsWith('__')) continue; // __typename, __schema, __type: real introspection only
    const field = type.getFields()[name];
    if (field && responseKey in data) cost += valueCost(walk, field.type, nodes, data[responseKey]);
  }
  return cost;
}

function valueCost(walk: Walk, type: GraphQLOutputType, nodes: readonly FieldNode[], value: unknown): number {
  if (value === null || value === undefined) return SCALAR_COST;
  const unwrapped = isNonNullType(type) ? type.ofType : type;
  if (isListType(unwrapped)) {
    if (!Array.isArray(value)) return SCALAR_COST;
    return value.reduce((sum: number, element) => sum + valueCost(walk, unwrapped.ofType, nodes, element), 0);
  }
  if (isLeafType(unwrapped) || typeof value !== 'object') return SCALAR_COST;
  // This schema has object types only; an abstract type would need the value's runtime type.
  if (!isObjectType(unwrapped)) return OBJECT_COST;
  let fields = walk.subfields.get(nodes);
  if (!fields) walk.subfields.set(nodes, (fields = collectSubfields(walk.schema, walk.fragments, walk.variables, unwrapped, nodes)));
  return OBJECT_COST + fieldsCost(walk, unwrapped, fields, value as Record<string, unknown>);
}

// Yoga parses each distinct document once and hands the same DocumentNode to every request
// that sends it, so costs are remembered per document, per operation and variables (a few
// hundred per document, enough for clients that send the same queries again and again).
const costsByDocument = new WeakMap<DocumentNode, Map<string, number | null>>();
const COSTS_PER_DOCUMENT = 256;

/**
 * The operation's cost, or null when it cannot be computed (unknown operation name, variables
 * of the wrong type): execution then refuses the request with its usual error.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
): number | null {
  let costs = costsByDocument.get(document);
  if (!costs) costsByDocument.set(document, (costs = new Map()));
  // Only numbers and booleans weigh in this schema (`first`/`last`, `@skip`/`@include`): ids,
  // cursors and other strings are left out of the key, so a query sent for one board after another
  // is estimated once.
  let key: string;
  try {
    key = `${operationName ?? ''}\n${JSON.stringify(variables ?? {}, (name, value) => (name !== '' && typeof value === 'string' ? 0 : value))}`;
  } catch {
    return null; // variables nested too deep to serialize: execution refuses them
  }
  if (costs.has(key)) return costs.get(key)!;
  const cost = computeCost(schema, document, operationName, variables);
  if (costs.size >= COSTS_PER_DOCUMENT) costs.clear();
  costs.set(key, cost);
  return cost;
}

function computeCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
): number | null {
  try {
    return getComplexity({ schema, query: document, operationName, variables: variables ?? {}, estimators: [estimateField] });
  } catch {
    return null;
  }
}

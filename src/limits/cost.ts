// What one operation costs against a token's complexity budget: 1 per scalar value, 2 per
// object plus what it holds. Before execution the cost is estimated from the document
// (graphql-query-complexity), where a connection holds its page size of nodes: `first`/`last`
// from a literal or a variable, else the default page size (50); after execution it is counted
// in the response, which holds at most that many. The estimate decides nothing on its own:
// it is reported as `requestedCost`, and the budget is charged what the response held (as
// Shopify's API does), so a deep query left at the default page sizes costs what it returned.
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { getNamedType, isLeafType, type DocumentNode, type GraphQLSchema } from 'graphql';
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
 * as in the estimate. Introspection and `__typename` are free.
 */
export function responseCost(data: Record<string, unknown> | null): number {
  let cost = 0;
  for (const [key, value] of Object.entries(data ?? {})) if (!key.startsWith('__')) cost += valueCost(value);
  return cost;
}

function valueCost(data: unknown): number {
  if (data === null || typeof data !== 'object') return SCALAR_COST;
  if (Array.isArray(data)) return data.reduce((sum: number, element) => sum + valueCost(element), 0);
  let cost = OBJECT_COST;
  for (const [key, value] of Object.entries(data)) if (!key.startsWith('__')) cost += valueCost(value);
  return cost;
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
  let key: string;
  try {
    key = JSON.stringify([operationName ?? null, variables ?? {}]);
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

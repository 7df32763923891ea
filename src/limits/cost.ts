// What one operation costs against a token's complexity budget (graphql-query-complexity).
// The weights are those of the static cost limit (src/server/queryLimits.ts): 1 per scalar
// field, 2 per object field plus what it selects, times the page size of a connection. Unlike
// that limit, the page size here is the real one: `first`/`last` from a literal, a variable or
// the argument's default (50), so a query pays for the items it can receive.
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { getNamedType, isLeafType, type DocumentNode, type GraphQLSchema } from 'graphql';

const SCALAR_COST = 1;
const OBJECT_COST = 2;

const estimateField: ComplexityEstimator = ({ field, args, childComplexity }) => {
  // Introspection (`__schema`, `__type`) is free, as for the static limit: GraphiQL stays usable.
  if (field.name.startsWith('__')) return 0;
  if (isLeafType(getNamedType(field.type))) return SCALAR_COST;
  const pageSize = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : 1;
  return (OBJECT_COST + childComplexity) * Math.max(pageSize, 1);
};

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
  try {
    return getComplexity({ schema, query: document, operationName, variables: variables ?? {}, estimators: [estimateField] });
  } catch {
    return null;
  }
}

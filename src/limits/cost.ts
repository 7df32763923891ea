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
  isInputType,
  isObjectType,
  typeFromAST,
  valueFromAST,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
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
export function responseCost(plan: ResponsePlan | null, data: Record<string, unknown> | null): number {
  if (!plan || !data) return 0;
  return fieldsCost(plan, plan.root(), data);
}

/**
 * How to read the responses to one operation (with one set of @skip/@include values): the
 * selections graphql-js's own collectFields/collectSubfields give (fragments, @skip/@include,
 * as execution does it), collected once per object field the first time a response holds it,
 * and kept with the operation's cost (operationCosts) for the requests that send it again.
 */
class ResponsePlan {
  private rootFields: FieldPlan[] | undefined;
  private readonly fragments: Record<string, FragmentDefinitionNode> = {};

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rootType: GraphQLObjectType,
    private readonly definition: OperationDefinitionNode,
    document: DocumentNode,
    private readonly variables: Record<string, unknown>,
  ) {
    for (const node of document.definitions) if (node.kind === Kind.FRAGMENT_DEFINITION) this.fragments[node.name.value] = node;
  }

  root(): FieldPlan[] {
    return (this.rootFields ??= this.fieldsOf(this.rootType, collectFields(this.schema, this.fragments, this.variables, this.rootType, this.definition.selectionSet)));
  }

  subfields(field: FieldPlan & { objectType: GraphQLObjectType }): FieldPlan[] {
    return (field.subfields ??= this.fieldsOf(field.objectType, collectSubfields(this.schema, this.fragments, this.variables, field.objectType, field.nodes)));
  }

  private fieldsOf(type: GraphQLObjectType, collected: Map<string, readonly FieldNode[]>): FieldPlan[] {
    const plan: FieldPlan[] = [];
    for (const [responseKey, nodes] of collected) {
      const name = nodes[0].name.value;
      if (name.startsWith('__')) continue; // __typename, __schema, __type: real introspection only
      const field = type.getFields()[name];
      if (!field) continue;
      const named = getNamedType(field.type);
      plan.push({ responseKey, lists: listDepth(field.type), nullable: !isNonNullType(field.type), leaf: isLeafType(named), nodes, objectType: isObjectType(named) ? named : undefined });
    }
    return plan;
  }

  /**
   * What one non-null value of the field costs when that does not depend on the response:
   * a scalar (1), or an object whose fields are all scalars or non-null objects of that kind
   * and no lists (graphql-js never leaves a non-null field out of an object it returns: an
   * error there nulls the object). Such values are then counted without walking them: a page
   * of items is 20 of the same, not 80 fields. Null when their cost depends on what they hold.
   */
  fixedCost(field: FieldPlan): number | null {
    if (field.fixed === undefined) field.fixed = this.computeFixedCost(field);
    return field.fixed;
  }

  private computeFixedCost(field: FieldPlan): number | null {
    if (field.leaf) return SCALAR_COST; // a null scalar costs what a value does
    if (!field.objectType) return null;
    let cost = OBJECT_COST;
    for (const subfield of this.subfields(field as FieldPlan & { objectType: GraphQLObjectType })) {
      if (subfield.lists > 0 || (subfield.nullable && !subfield.leaf)) return null;
      const each = this.fixedCost(subfield);
      if (each === null) return null;
      cost += each;
    }
    return cost;
  }
}

interface FieldPlan {
  responseKey: string;
  /** How many lists the field's type wraps its named type in (`[Item!]!`: 1). */
  lists: number;
  /** The field's own type is nullable (its list elements may still be non-null). */
  nullable: boolean;
  /** Its named type is a scalar or an enum. */
  leaf: boolean;
  nodes: readonly FieldNode[];
  /** The object type its values have (this schema has object types only), else undefined. */
  objectType: GraphQLObjectType | undefined;
  /** Collected on first use. */
  subfields?: FieldPlan[];
  /** ResponsePlan.fixedCost, computed on first use. */
  fixed?: number | null;
}

/** The field's type read once when its plan is made, not unwrapped again for every value. */
function listDepth(type: GraphQLOutputType): number {
  let depth = 0;
  for (let t = isNonNullType(type) ? type.ofType : type; isListType(t); t = isNonNullType(t.ofType) ? t.ofType.ofType : t.ofType) depth++;
  return depth;
}

function fieldsCost(plan: ResponsePlan, fields: FieldPlan[], data: Record<string, unknown>): number {
  let cost = 0;
  for (const field of fields) if (field.responseKey in data) cost += valueCost(plan, field, field.lists, data[field.responseKey]);
  return cost;
}

/** `lists`: the list levels of the field's type still around `value`. */
function valueCost(plan: ResponsePlan, field: FieldPlan, lists: number, value: unknown): number {
  if (value === null || value === undefined) return SCALAR_COST;
  if (lists > 0) {
    if (!Array.isArray(value)) return SCALAR_COST;
    let cost = 0;
    for (const element of value) cost += valueCost(plan, field, lists - 1, element);
    return cost;
  }
  if (field.leaf || typeof value !== 'object') return SCALAR_COST;
  // An abstract type would need the value's runtime type: none in this schema.
  if (!field.objectType) return OBJECT_COST;
  return plan.fixedCost(field) ?? OBJECT_COST + fieldsCost(plan, plan.subfields(field as FieldPlan & { objectType: GraphQLObjectType }), value as Record<string, unknown>);
}

// Yoga parses each distinct document once and hands the same DocumentNode to every request
// that sends it, so costs are remembered per document, per operation and the values of the
// variables that can change them (a few hundred per document, enough for clients that send the
// same queries again and again).
interface DocumentCosts {
  /** Per operation name (null: none given): the operation, read once. */
  operations: Map<string | null, OperationShape>;
  costs: Map<string, OperationCosts>;
}
const costsByDocument = new WeakMap<DocumentNode, DocumentCosts>();
const COSTS_PER_DOCUMENT = 256;

export interface OperationCosts {
  /** The estimate, or null when it cannot be computed (unknown operation name, variables of the wrong type): execution then refuses the request with its usual error. */
  requested: number | null;
  /** How responseCost reads its responses (null when there is no such operation). */
  response: ResponsePlan | null;
}

const UNKNOWABLE: OperationCosts = { requested: null, response: null };

export function operationCosts(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
): OperationCosts {
  let known = costsByDocument.get(document);
  if (!known) costsByDocument.set(document, (known = { operations: new Map(), costs: new Map() }));
  let operation = known.operations.get(operationName ?? null);
  if (!operation) {
    // Not remembered when there is no such operation: any name can be sent, and yoga refuses those.
    const found = operationShape(schema, document, operationName);
    if (!found) return UNKNOWABLE;
    known.operations.set(operationName ?? null, (operation = found));
  }
  // Only the variables that can weigh (ids, cursors and other strings never do), so that a query
  // sent for one board after another is estimated once, and no id, cursor or password stays here.
  // One left out counts at its default, as execution reads it.
  const values: Record<string, unknown> = Object.create(null);
  let key = operationName === undefined ? '' : `=${operationName}`;
  try {
    for (const { name, defaultValue } of operation.weighed) {
      const value = variables?.[name];
      values[name] = value === undefined ? defaultValue : value;
      key += `\n${JSON.stringify(values[name])}`;
    }
  } catch {
    return UNKNOWABLE; // a value nested too deep to serialize: execution refuses it
  }
  const cached = known.costs.get(key);
  if (cached) return cached;
  const requested = computeCost(schema, document, operationName, variables);
  const { definition, rootType } = operation;
  const response = rootType ? new ResponsePlan(schema, rootType, definition, document, values) : null;
  const computed: OperationCosts = { requested, response };
  // Not remembered when unknowable: those variables were wrong, and the next request's may not be.
  if (requested === null) return computed;
  if (known.costs.size >= COSTS_PER_DOCUMENT) known.costs.clear();
  known.costs.set(key, computed);
  return computed;
}

interface WeighedVariable {
  name: string;
  /** Its default in the operation (undefined: none). */
  defaultValue: unknown;
}

interface OperationShape {
  definition: OperationDefinitionNode;
  rootType: GraphQLObjectType | undefined;
  /**
   * The variables that a cost can depend on: numbers (`first`/`last`) and booleans
   * (`@skip`/`@include`), alone or in lists.
   */
  weighed: WeighedVariable[];
}

/** The operation `operationName` picks in the document, or null when there is none. */
function operationShape(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): OperationShape | null {
  const definition = getOperationAST(document, operationName);
  if (!definition) return null;
  const weighed: WeighedVariable[] = [];
  for (const { variable, type, defaultValue } of definition.variableDefinitions ?? []) {
    let named = type;
    while (named.kind !== Kind.NAMED_TYPE) named = named.type;
    if (!WEIGHED_TYPES.has(named.name.value)) continue;
    const inputType = typeFromAST(schema, type);
    weighed.push({ name: variable.name.value, defaultValue: defaultValue && inputType && isInputType(inputType) ? valueFromAST(defaultValue, inputType) : undefined });
  }
  return { definition, rootType: schema.getRootType(definition.operation) ?? undefined, weighed };
}

const WEIGHED_TYPES = new Set(['Int', 'Float', 'Boolean']);

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

// Query limits, checked before anything executes (GraphQL Armor): depth, aliases and
// directives per operation and the static cost (validation rules), and the document's size in
// tokens (while parsing, so an oversized document is never parsed whole). A document over a
// limit gets one error naming the limit and the value found, code BAD_USER_INPUT, HTTP 400,
// and neither the context (authentication) nor any resolver runs.
//
// Introspection (`__schema`) counts for neither depth nor cost, so GraphiQL keeps working.
// The cost counts 1 per scalar field and 2 per object field, times the literal `first`/`last`
// of a connection (depthCostFactor 1: the cost is about the number of fields the response can
// hold). Armor counts an omitted `first` (default 50) or one given as a variable as 1.
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, specifiedRules, validate, type ValidationContext, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { QueryLimits } from '../env';

/** Armor's refusal as the spec's: BAD_USER_INPUT, HTTP 400, armor's message without "Syntax Error: ". */
function limitError(error: GraphQLError): GraphQLError {
  const message = error.message.replace(/^Syntax Error: /, '').replace(/^Query Cost/, 'Query cost');
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
}

/**
 * Validation rules report the error (so validation fails as usual and nothing executes); the
 * token limit has no validation context (it runs in the lexer), so it throws and parsing stops.
 */
function reject(context: ValidationContext | null, error: GraphQLError): void {
  if (!context) throw limitError(error);
  context.reportError(limitError(error));
}

const common = { exposeLimits: true, propagateOnRejection: false, onReject: [reject] };

export function queryLimitsPlugins(limits: QueryLimits): Plugin[] {
  // The rules are made once: armor's own plugins make each rule anew, in a hook of their own,
  // on every request.
  const limitRules: ValidationRule[] = [
    maxDepthRule({ ...common, n: limits.maxDepth, ignoreIntrospection: true }),
    maxAliasesRule({ ...common, n: limits.maxAliases }),
    maxDirectivesRule({ ...common, n: limits.maxDirectives }),
    costLimitRule({
      ...common,
      maxCost: limits.maxCost,
      objectCost: 2,
      scalarCost: 1,
      depthCostFactor: 1,
      ignoreIntrospection: true,
    }),
  ];
  // They run inside the validation function rather than being added to each request's rules:
  // yoga caches validation per document, keyed by the names of every rule in the list it is
  // given, so added rules made every request build a longer key (a few µs a request in the
  // profile, issue 10) for a validation that runs once per document either way.
  const validateWithLimits: typeof validate = (schema, document, rules, ...rest) =>
    validate(schema, document, [...(rules ?? specifiedRules), ...limitRules], ...rest);
  return [
    maxTokensPlugin({ ...common, n: limits.maxTokens }) as Plugin,
    {
      onValidate({ setValidationFn }) {
        setValidationFn(validateWithLimits);
      },
    },
  ];
}

// A prismaField resolver that answers null without reading the database must still touch the
// `query` Pothos hands it: outside production (onUnusedQuery: 'error') Pothos would otherwise
// turn that null into an error whenever the client selected nested relations.
export function noRow(query: object): null {
  void { ...query };
  return null;
}

// Finding one token by id. The API has no single-token query: a token page looks in the lists
// seen already, then pages through the caller's own tokens and, for an organization OWNER, the
// organization's tokens.
import type { Client } from 'urql';
import { MY_ORGANIZATIONS, MY_TOKENS, ORGANIZATION_TOKENS, type ApiToken, type Connection, type Organization } from './queries';

const seen = new Map<string, ApiToken>();

export function rememberTokens(tokens: ApiToken[]): void {
  for (const token of tokens) seen.set(token.id, token);
}

export function forgetToken(id: string): void {
  seen.delete(id);
}

export function seenToken(id: string): ApiToken | undefined {
  return seen.get(id);
}

async function searchPages(fetchPage: (after: string | null) => Promise<Connection<ApiToken> | null | undefined>, id: string): Promise<ApiToken | null> {
  let after: string | null = null;
  for (let page = 0; page < 20; page++) {
    const connection = await fetchPage(after);
    if (!connection) return null;
    const found = connection.edges.find((edge) => edge.node.id === id)?.node;
    if (found) return found;
    if (!connection.pageInfo.hasNextPage) return null;
    after = connection.pageInfo.endCursor;
  }
  return null;
}

/** The token as the API shows it now (fresh from the API, not from what was seen). Throws the API's error. */
export async function findToken(client: Client, id: string): Promise<ApiToken | null> {
  const mine = await searchPages(async (after) => {
    const result = await client.query<{ apiTokens: Connection<ApiToken> }>(MY_TOKENS, { first: 100, after }).toPromise();
    if (result.error) throw result.error;
    return result.data?.apiTokens;
  }, id);
  if (mine) return mine;
  const organizations = await client.query<{ organizations: Connection<Organization> }>(MY_ORGANIZATIONS, {}).toPromise();
  if (organizations.error) throw organizations.error;
  for (const { node } of organizations.data?.organizations.edges ?? []) {
    if (node.viewerRole !== 'OWNER') continue;
    const found = await searchPages(async (after) => {
      const result = await client.query<{ organization: { apiTokens: Connection<ApiToken> } | null }>(ORGANIZATION_TOKENS, { id: node.id, first: 100, after }).toPromise();
      if (result.error) throw result.error;
      return result.data?.organization?.apiTokens;
    }, id);
    if (found) return found;
  }
  return null;
}

// Finding one token by id: the lists seen already remember tokens for an instant first paint;
// the token page then asks the API (apiToken(id)) for the token as it is now.
import type { Client } from 'urql';
import { ONE_TOKEN, type ApiToken } from './queries';

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

/** The token as the API shows it now (null when the caller may not read it). Throws the API's error. */
export async function findToken(client: Client, id: string): Promise<ApiToken | null> {
  const result = await client.query<{ apiToken: ApiToken | null }>(ONE_TOKEN, { id }).toPromise();
  if (result.error) throw result.error;
  return result.data?.apiToken ?? null;
}

// The GraphQL client (urql): POSTs to this origin's /graphql with the session's bearer token.
// No document cache: every page asks the API again, so a list never shows a revoked token as active.
import { Client, CombinedError, fetchExchange, mapExchange } from 'urql';
import { friendlyMessage } from './format';
import { currentSession, setSession } from './session';

export const client = new Client({
  url: '/graphql',
  exchanges: [
    // A session the API no longer accepts (expired, logged out elsewhere) is forgotten: the
    // console goes back to the log-in page.
    mapExchange({
      onError(error) {
        if (currentSession() && error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) setSession(null);
      },
    }),
    fetchExchange,
  ],
  preferGetMethod: false,
  requestPolicy: 'network-only',
  fetchOptions: (): RequestInit => {
    const session = currentSession();
    const headers: Record<string, string> = session ? { authorization: `Bearer ${session.token}` } : {};
    return { headers };
  },
});

/** An API error in words a person can act on (never raw JSON). */
export function errorText(error: CombinedError | Error | null | undefined): string | null {
  if (!error) return null;
  if (error instanceof CombinedError) {
    if (error.graphQLErrors.length > 0) {
      const codes = error.graphQLErrors.map((e) => e.extensions?.code);
      if (codes.includes('UNAUTHENTICATED') && currentSession()) return 'Your session has ended. Log in again.';
      return error.graphQLErrors.map((e) => friendlyMessage(e.message)).join(' ');
    }
    if (error.networkError) return 'The gateway could not be reached. Check your connection and try again.';
  }
  return 'Something went wrong. Try again.';
}

// Adds headers to a response in yoga's onResponse hook: in place, or on a copy when the
// response's headers are immutable (a Response made by fetch, for example).
import type { Plugin } from 'graphql-yoga';

type OnResponse = NonNullable<Plugin['onResponse']>;
type OnResponsePayload = Parameters<OnResponse>[0];

export function setResponseHeaders({ response, setResponse, fetchAPI }: OnResponsePayload, headers: Record<string, string>): void {
  try {
    for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  } catch {
    const copy = new fetchAPI.Headers(response.headers);
    for (const [name, value] of Object.entries(headers)) copy.set(name, value);
    setResponse(new fetchAPI.Response(response.body, { status: response.status, statusText: response.statusText, headers: copy }));
  }
}

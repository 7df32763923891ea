// GET /healthz: 200 when the database answers, 503 when it does not.
import type { Plugin } from 'graphql-yoga';
import type { Database } from '../db/database';

export function healthPlugin(database: Pick<Database, 'ping' | 'kind'>): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== '/healthz') return;
      const up = await database.ping();
      endResponse(
        fetchAPI.Response.json(
          { status: up ? 'ok' : 'unavailable', database: { kind: database.kind, reachable: up } },
          { status: up ? 200 : 503 },
        ),
      );
    },
  };
}

// GET /healthz: 200 when the database answers, 503 when it does not. The limits' store is
// detail: without Redis the gateway still serves (limits counted per instance), so it stays 200.
import type { Plugin } from 'graphql-yoga';
import type { Database } from '../db/database';
import type { CountersHealth } from '../limits/counters';

export function healthPlugin(database: Pick<Database, 'ping' | 'kind'>, limits: { health(): CountersHealth }): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== '/healthz') return;
      const up = await database.ping();
      endResponse(
        fetchAPI.Response.json(
          { status: up ? 'ok' : 'unavailable', database: { kind: database.kind, reachable: up }, limits: limits.health() },
          { status: up ? 200 : 503 },
        ),
      );
    },
  };
}

// The baseline of target 1 (issue 10): a bare graphql-yoga + pg server answering the
// benchmark's board query over the same seeded tables, with hand-written SQL: one statement for
// the board, one for its page of items. No authentication, no scopes, no limits, no Prisma.
// Forked by bench/run.ts like the gateway (bench/server.ts), same IPC (bench/child.ts); PostgreSQL
// only. Its schema is the slice of the gateway's the benchmark queries, so that the answers can
// be compared byte for byte; its cursors are its own (the gateway's are never constructed by
// the benchmark either: both are asked for theirs).
import { createSchema, createYoga } from 'graphql-yoga';
import { Pool, type QueryResultRow } from 'pg';
import { fail, listen, serveParent } from './child';

export interface BareYogaOptions {
  databaseUrl: string;
  poolSize: number;
}

const typeDefs = /* GraphQL */ `
  type Query {
    board(id: ID!): Board
  }
  type Board {
    id: ID!
    name: String!
    items(first: Int = 50, after: String): ItemConnection!
  }
  type ItemConnection {
    edges: [ItemEdge!]!
    pageInfo: PageInfo!
  }
  type ItemEdge {
    cursor: String!
    node: Item!
  }
  type Item {
    id: ID!
    name: String!
    status: String
  }
  type PageInfo {
    hasNextPage: Boolean!
    endCursor: String
  }
`;

interface BoardRow {
  id: string;
  name: string;
}
interface ItemRow {
  id: string;
  name: string;
  status: string | null;
}

// Items in the gateway's order for Board.items: oldest first, then by id.
const FIRST_PAGE = `SELECT "id", "name", "status" FROM "Item" WHERE "boardId" = $1 ORDER BY "createdAt", "id" LIMIT $2`;
// A keyset page: the rows after the cursor's row (looked up in the same statement).
const PAGE_AFTER = `SELECT "id", "name", "status" FROM "Item"
  WHERE "boardId" = $1 AND ("createdAt", "id") > (SELECT "createdAt", "id" FROM "Item" WHERE "id" = $3 AND "boardId" = $1)
  ORDER BY "createdAt", "id" LIMIT $2`;

const encodeCursor = (id: string) => Buffer.from(id).toString('base64url');
const decodeCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString();

async function main() {
  const options = JSON.parse(process.env.BENCH_CHILD_OPTIONS ?? '') as BareYogaOptions;
  const pool = new Pool({ connectionString: options.databaseUrl, max: options.poolSize });
  let statements = 0;
  const query = async <Row extends QueryResultRow>(text: string, values: unknown[]) => {
    statements++;
    return (await pool.query<Row>(text, values)).rows;
  };

  const schema = createSchema({
    typeDefs,
    resolvers: {
      Query: {
        board: async (_root: unknown, args: { id: string }) =>
          (await query<BoardRow>('SELECT "id", "name" FROM "Board" WHERE "id" = $1', [args.id]))[0] ?? null,
      },
      Board: {
        items: async (board: BoardRow, args: { first: number; after?: string | null }) => {
          const first = Math.max(0, Math.min(100, args.first));
          // One row more than asked: is there a next page?
          const rows =
            args.after == null
              ? await query<ItemRow>(FIRST_PAGE, [board.id, first + 1])
              : await query<ItemRow>(PAGE_AFTER, [board.id, first + 1, decodeCursor(args.after)]);
          const page = rows.slice(0, first);
          return {
            edges: page.map((node) => ({ cursor: encodeCursor(node.id), node })),
            pageInfo: { hasNextPage: rows.length > first, endCursor: page.length > 0 ? encodeCursor(page[page.length - 1].id) : null },
          };
        },
      },
    },
  });
  // yoga's defaults otherwise (its parse and validation caches included), as a team would run it.
  const yoga = createYoga({ schema, graphiql: false, landingPage: false, logging: false });
  const server = await listen(yoga);
  serveParent({ yoga: server }, () => ({ hashes: 0, verifications: 0, statements }), () => pool.end());
}

main().catch(fail);

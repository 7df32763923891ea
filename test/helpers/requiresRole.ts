// One security helper for every operation, in the style of Unkey's `*.security.test.ts`:
// driven by the roles table (src/auth/roles.ts), it proves that every role below the one an
// operation needs is refused with FORBIDDEN and changes nothing in the database, and that the
// required role and every role above it succeed. Adding an operation = one line in OPERATIONS
// + one `requiresRole(...)` call.
//
// A role is held through a Credential (a SERVICE token at some scope, a membership, a
// PERSONAL token with a cap, ...). Each credential says how far up its role counts: a
// credential that only reaches a space cannot hold a role "on the whole organization", so for
// an organization-level operation it is refused at every role, OWNER included.
import { OPERATIONS, ROLES, type Operation, type Role, requiredRole, roleAtLeast } from '../../src/auth/roles';
import { errorCodes, type GraphQLResponse, type TestApp } from './testApp';

/** Where an operation's role counts: on the whole organization, on a whole space, or on a board. */
export type Level = 'organization' | 'space' | 'board';

const LEVEL_DEPTH: Record<Level, number> = { organization: 0, space: 1, board: 2 };

/** A credential reaching `reaches` holds its role at `level` when `level` lies inside it. */
export const holdsRoleAt = (reaches: Level, level: Level) => LEVEL_DEPTH[reaches] <= LEVEL_DEPTH[level];

/**
 * Where a credential is granted its role: an organization, one of its spaces, and boards of
 * that space. An ORGANIZATION-wide credential uses only `organizationId`; a space-wide one
 * `spaceId`; a BOARDS one `boardIds`.
 */
export interface GrantPlace {
  organizationId: string;
  spaceId: string;
  boardIds: string[];
}

/** A way to hold a role: a bearer token with exactly `role` at `place` (as far as `reaches`). */
export interface Credential {
  /** Shown in the test name, e.g. "SERVICE token, scope SPACE". */
  name: string;
  /** The widest level at which the role counts. */
  reaches: Level;
  token(role: Role, place: GrantPlace): Promise<string>;
}

export interface RoleCase<Target extends { place: GrantPlace }> {
  /** The row of OPERATIONS this case checks: the required role comes from there. */
  operation: Operation;
  /** Where the role counts for this call (an organization-level operation must say 'organization'). */
  at: Level;
  /** Shown after the operation's name when one operation is called in several ways. */
  label?: string;
  /** A target for one call (fresh when the operation changes or removes it). */
  target(t: TestApp): Promise<Target>;
  /** Performs the operation on `target` with `token`. */
  run(t: TestApp, target: Target, token: string): Promise<GraphQLResponse>;
  /** Asserts that the operation did what it should: its response and its effect in the database. */
  succeeded(t: TestApp, target: Target, response: GraphQLResponse): Promise<void> | void;
  /** Extra assertions on a refusal (beyond FORBIDDEN, no data, and an unchanged database). */
  refused?(t: TestApp, target: Target, response: GraphQLResponse): Promise<void> | void;
}

/**
 * Registers, for each credential and each role, one test: below the required role (or with
 * a credential that cannot hold a role at `at`), FORBIDDEN and nothing changed; at or above
 * it, success. `app` is read when the tests run (set it in a beforeAll).
 */
export function requiresRole<Target extends { place: GrantPlace }>(
  app: () => TestApp,
  credentials: readonly Credential[],
  roleCase: RoleCase<Target>,
) {
  const { operation, at } = roleCase;
  const needed = requiredRole(operation);
  if (OPERATIONS[operation].level === 'organization' && at !== 'organization') {
    throw new Error(`${operation} is checked on the whole organization (see OPERATIONS); call requiresRole with at: 'organization'.`);
  }
  const title = `${operation}${roleCase.label ? ` (${roleCase.label})` : ''} needs ${needed} on the ${at}`;
  describe(title, () => {
    for (const credential of credentials) {
      const holds = holdsRoleAt(credential.reaches, at);
      const cases = ROLES.map((role) => {
        const allowed = holds && roleAtLeast(role, needed);
        return { role, allowed, outcome: allowed ? 'succeeds' : 'FORBIDDEN, nothing changes' };
      });
      describe(credential.name, () => {
        // A refusal changes nothing (each test proves it), so the refused roles, which run
        // first (roles ascend), share one target; every success gets a fresh one.
        let unchanged: Promise<Target> | undefined;
        test.each(cases)('$role: $outcome', async ({ role, allowed }) => {
          const t = app();
          const target = await (allowed ? roleCase.target(t) : (unchanged ??= roleCase.target(t)));
          const token = await credential.token(role, target.place);
          if (allowed) {
            const response = await roleCase.run(t, target, token);
            expect({ status: response.status, errors: response.body.errors ?? [] }).toEqual({ status: 200, errors: [] });
            await roleCase.succeeded(t, target, response);
          } else {
            const before = await dbFingerprint(t);
            const response = await roleCase.run(t, target, token);
            expectRefused(response, 'FORBIDDEN');
            await roleCase.refused?.(t, target, response);
            expect(await dbFingerprint(t)).toEqual(before);
          }
        });
      });
    }
  });
}

/**
 * A refusal: HTTP 200 (an execution error), exactly one error with `code`, and no data: every
 * top-level field that was asked for is null (a non-null mutation field nulls `data` itself).
 */
export function expectRefused(response: GraphQLResponse, code: 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT') {
  expect({ status: response.status, codes: errorCodes(response) }).toEqual({ status: 200, codes: [code] });
  const data = response.body.data ?? null;
  if (data !== null) for (const value of Object.values(data)) expect(value).toBeNull();
}

/**
 * A digest of every row the API can change (all domain tables; sessions and the batched
 * `lastUsedAt`/`lastUsedIps`/`updatedAt` of tokens left out), per table, so that "nothing changed" is
 * checked in the database itself and a failure names the table that changed. Each table's
 * digest is its row count and the sum of its rows' hashes (order-independent: no sort).
 */
export async function dbFingerprint(t: TestApp): Promise<Record<string, string>> {
  const digest = (table: string, row = 'x') =>
    `(SELECT count(*)::text || ':' || coalesce(sum(hashtext((${row})::text)::bigint), 0)::text FROM "${table}" x) AS "${table}"`;
  const rows = await t.prisma.$queryRawUnsafe<Record<string, string>[]>(
    `SELECT ${[
      digest('User', 'x.id, x.email, x.name, x."passwordHash"'),
      digest('Organization'),
      digest('Membership'),
      digest('Space'),
      digest('Board'),
      digest('Item'),
      digest('ItemUpdate'),
      // Every column but those written on use (the batched lastUsedAt and lastUsedIps) and by the
      // expiry-notice job.
      digest('ApiToken', `to_jsonb(x) - 'lastUsedAt' - 'lastUsedIps' - 'updatedAt' - 'expiringNotice7dAt' - 'expiringNotice1dAt'`),
      digest('ApiTokenBoard'),
      digest('AuditEvent'),
      digest('FederationPolicy'),
      digest('FederatedTokenUse'),
      digest('Webhook'),
      digest('WebhookDelivery'),
    ].join(',\n')}`,
  );
  return rows[0];
}

// `portcullis tokens …`: list, create, update, revoke, delete, regenerate and rotate API tokens.
// A secret is printed only by create, regenerate and rotate, once, on stdout.
import { type Command, Option } from 'commander';
import { createClient } from './client';
import { resolveConnection } from './config';
import { CliError, usageError } from './errors';
import {
  type Expiry,
  type Role,
  parseBudget,
  parseCidrList,
  parseDuration,
  parseExpires,
  parseIdList,
  parseKind,
  parseRole,
  parseStatus,
} from './options';
import { formatJson, formatTable, formatTime, printLine } from './output';
import { confirm, stdinIsTerminal } from './prompt';

const TOKEN_FIELDS = `
  id name description kind role scopeType
  organization { id name } space { id name } boards { id name }
  maskedToken status createdAt expiresAt lastUsedAt revokedAt complexityBudget allowedIps`;

interface ApiToken {
  id: string;
  name: string;
  description: string | null;
  kind: 'PERSONAL' | 'SERVICE';
  role: Role | null;
  scopeType: 'ORGANIZATION' | 'SPACE' | 'BOARDS' | null;
  organization: { id: string; name: string } | null;
  space: { id: string; name: string } | null;
  boards: { id: string; name: string }[];
  maskedToken: string;
  status: 'ACTIVE' | 'REVOKED' | 'EXPIRED';
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  complexityBudget: number;
  allowedIps: string[];
}

interface SecretPayload {
  apiToken: ApiToken;
  secret: string;
}

/** Tokens per request when listing: 100 is the gateway's largest page; tests set a small one to prove paging. */
function pageSize(): number {
  const size = Number(process.env.PORTCULLIS_PAGE_SIZE ?? 100);
  return Number.isInteger(size) && size >= 1 && size <= 100 ? size : 100;
}

function describeScope(token: ApiToken): string {
  switch (token.scopeType) {
    case 'ORGANIZATION':
      return `organization ${token.organization?.name ?? token.organization?.id ?? '?'}`;
    case 'SPACE':
      return `space ${token.space?.name ?? token.space?.id ?? '?'}`;
    case 'BOARDS':
      return `boards ${token.boards.map((board) => board.name).join(', ') || '?'}`;
    default:
      return 'all of its user';
  }
}

const LIST_HEADERS = ['ID', 'NAME', 'KIND', 'ROLE', 'SCOPE', 'STATUS', 'LAST USED', 'EXPIRES'];

const tokenRow = (token: ApiToken) => [
  token.id,
  token.name,
  token.kind,
  token.role ?? '-',
  describeScope(token),
  token.status,
  formatTime(token.lastUsedAt, 'never'),
  formatTime(token.expiresAt, 'never'),
];

/** The secret of create/regenerate: alone with --quiet (for `$(…)`), otherwise with what it is and a warning. */
function printSecret(verb: 'Created' | 'Regenerated' | 'Rotated', payload: SecretPayload, quiet: boolean, extra?: string) {
  if (quiet) {
    printLine(payload.secret);
    return;
  }
  const token = payload.apiToken;
  printLine(`${verb} token "${token.name}" (${token.id}): ${token.kind} ${token.role ?? 'uncapped'}, scope ${describeScope(token)}, expires ${formatTime(token.expiresAt, 'never')}.`);
  if (extra) printLine(extra);
  printLine('The secret below is shown only this once: store it now (e.g. in your CI secrets); it cannot be shown again.');
  printLine(payload.secret);
}

/** On a terminal, ask; otherwise insist on --yes, so that no script destroys a token by accident. */
async function requireConfirmation(yes: boolean | undefined, question: string, flagHint: string) {
  if (yes) return;
  if (!stdinIsTerminal()) throw usageError(`Refusing to ${flagHint} without --yes (stdin is not a terminal, so there is nobody to ask).`);
  if (!(await confirm(question))) throw new CliError('Cancelled: nothing changed.', 1);
}

const expiryInput = (expiry: Expiry | undefined) =>
  !expiry || 'never' in expiry ? {} : 'expiresAt' in expiry ? { expiresAt: expiry.expiresAt } : { expiresInSeconds: expiry.expiresInSeconds };

export function registerTokenCommands(program: Command): void {
  const tokens = program.command('tokens').description('list, create and manage API tokens');
  const clientOf = (command: Command) => createClient(resolveConnection(command.optsWithGlobals()));

  tokens
    .command('list')
    .description('the tokens you (or the calling token) created, newest first')
    .option('--name <text>', 'only tokens whose name contains this (case-insensitive)')
    .option('--status <status>', 'active, revoked or expired', parseStatus)
    .option('--json', 'print JSON (an array of tokens) for scripts')
    .action(async (options: { name?: string; status?: string; json?: boolean }, command: Command) => {
      const client = clientOf(command);
      const filter = { ...(options.name && { nameContains: options.name }), ...(options.status && { status: options.status }) };
      const all: ApiToken[] = [];
      let after: string | null = null;
      // Every page, following endCursor, so that a script sees every token and not the first page.
      for (;;) {
        const data: { apiTokens: { edges: { node: ApiToken }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } =
          await client.request(
            `query($first: Int!, $after: String, $filter: ApiTokenFilter) {
              apiTokens(first: $first, after: $after, filter: $filter) {
                edges { node { ${TOKEN_FIELDS} } }
                pageInfo { hasNextPage endCursor }
              }
            }`,
            { first: pageSize(), after, filter },
          );
        all.push(...data.apiTokens.edges.map((edge) => edge.node));
        if (!data.apiTokens.pageInfo.hasNextPage || !data.apiTokens.pageInfo.endCursor) break;
        after = data.apiTokens.pageInfo.endCursor;
      }
      if (options.json) printLine(formatJson(all));
      else if (all.length === 0) printLine('No tokens.');
      else printLine(formatTable(LIST_HEADERS, all.map(tokenRow)));
    });

  tokens
    .command('create')
    .description('create a token and print its secret, once')
    .requiredOption('--name <name>', 'a name that says what the token is for')
    .option('--description <text>', 'a longer description')
    .addOption(new Option('--kind <kind>', 'personal or service (default: service)').argParser(parseKind))
    .option('--role <role>', 'viewer, agent, editor or owner (required for a service token; a cap for a personal one)', parseRole)
    .addOption(new Option('--org <id>', 'scope: this organization').conflicts(['space', 'boards']))
    .addOption(new Option('--space <id>', 'scope: this space').conflicts(['boards']))
    .addOption(new Option('--boards <ids>', 'scope: these boards (ids separated by commas, all in one space)').argParser(parseIdList))
    .option('--expires <when>', 'a duration (1h, 7d), a date (2026-12-31, 00:00 UTC), an ISO time, or never (default)', (value: string) => parseExpires(value))
    .option('--budget <points>', 'complexity points per minute (default: the gateway default)', parseBudget)
    .option('--allowed-ips <cidrs>', 'only usable from these CIDR ranges, separated by commas (e.g. 10.0.0.0/8,2001:db8::/32)', parseCidrList)
    .option('-q, --quiet', 'print only the secret (for $(...))')
    .action(
      async (
        options: {
          name: string;
          description?: string;
          kind?: 'PERSONAL' | 'SERVICE';
          role?: Role;
          org?: string;
          space?: string;
          boards?: string[];
          expires?: Expiry;
          budget?: number | 'default';
          allowedIps?: string[];
          quiet?: boolean;
        },
        command: Command,
      ) => {
        if (!options.role && options.kind !== 'PERSONAL') throw usageError('--role is required for a service token.');
        if (options.budget === 'default') throw usageError('--budget default is for `tokens update`; leave --budget out instead.');
        const input = {
          name: options.name,
          ...(options.description !== undefined && { description: options.description }),
          ...(options.kind && { kind: options.kind }),
          ...(options.role && { role: options.role }),
          ...(options.org && { organizationId: options.org }),
          ...(options.space && { spaceId: options.space }),
          ...(options.boards && { boardIds: options.boards }),
          ...expiryInput(options.expires),
          ...(options.budget !== undefined && { complexityBudget: options.budget }),
          ...(options.allowedIps && { allowedIps: options.allowedIps }),
        };
        const data = await clientOf(command).request<{ createApiToken: SecretPayload }>(
          `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret apiToken { ${TOKEN_FIELDS} } } }`,
          { input },
        );
        const ranges = data.createApiToken.apiToken.allowedIps;
        printSecret('Created', data.createApiToken, options.quiet === true, ranges.length ? `Usable only from ${ranges.join(', ')}.` : undefined);
      },
    );

  tokens
    .command('update')
    .description("change a token's name, description, role or budget")
    .argument('<id>', 'the token id')
    .option('--name <name>', 'a new name')
    .option('--description <text>', 'a new description')
    .option('--role <role>', 'a new role: viewer, agent, editor or owner', parseRole)
    .option('--budget <points>', 'complexity points per minute, or "default" for the gateway default', parseBudget)
    .action(async (id: string, options: { name?: string; description?: string; role?: Role; budget?: number | 'default' }, command: Command) => {
      if (options.name === undefined && options.description === undefined && !options.role && options.budget === undefined) {
        throw usageError('Nothing to change: give --name, --description, --role or --budget.');
      }
      const input = {
        id,
        ...(options.name !== undefined && { name: options.name }),
        ...(options.description !== undefined && { description: options.description }),
        ...(options.role && { role: options.role }),
        ...(options.budget !== undefined && { complexityBudget: options.budget === 'default' ? null : options.budget }),
      };
      const data = await clientOf(command).request<{ updateApiToken: ApiToken }>(
        `mutation($input: UpdateApiTokenInput!) { updateApiToken(input: $input) { ${TOKEN_FIELDS} } }`,
        { input },
      );
      const token = data.updateApiToken;
      printLine(`Updated token "${token.name}" (${token.id}): ${token.kind} ${token.role ?? 'uncapped'}, budget ${token.complexityBudget}/min.`);
    });

  tokens
    .command('revoke')
    .description('stop a token at once; it stays listed as REVOKED')
    .argument('<id>', 'the token id')
    .option('-y, --yes', 'do not ask (required when stdin is not a terminal)')
    .action(async (id: string, options: { yes?: boolean }, command: Command) => {
      await requireConfirmation(options.yes, `Revoke token ${id}? It stops working at once.`, 'revoke a token');
      const data = await clientOf(command).request<{ revokeApiToken: ApiToken }>(
        `mutation($id: ID!) { revokeApiToken(id: $id) { ${TOKEN_FIELDS} } }`,
        { id },
      );
      printLine(`Revoked token "${data.revokeApiToken.name}" (${data.revokeApiToken.id}).`);
    });

  tokens
    .command('delete')
    .description('stop a token at once and remove it from lists')
    .argument('<id>', 'the token id')
    .option('-y, --yes', 'do not ask (required when stdin is not a terminal)')
    .action(async (id: string, options: { yes?: boolean }, command: Command) => {
      await requireConfirmation(options.yes, `Delete token ${id}? It stops working at once and disappears from lists.`, 'delete a token');
      const data = await clientOf(command).request<{ deleteApiToken: string }>(`mutation($id: ID!) { deleteApiToken(id: $id) }`, { id });
      printLine(`Deleted token ${data.deleteApiToken}.`);
    });

  tokens
    .command('regenerate')
    .description('a new secret for the same token (printed once); the old one stops working')
    .argument('<id>', 'the token id')
    .option('--grace <duration>', 'keep the old secret working this long (e.g. 10m; at most 24h)', parseDuration)
    .option('-q, --quiet', 'print only the secret (for $(...))')
    .action(async (id: string, options: { grace?: number; quiet?: boolean }, command: Command) => {
      const data = await clientOf(command).request<{ regenerateApiToken: SecretPayload }>(
        `mutation($id: ID!, $grace: Int) { regenerateApiToken(id: $id, gracePeriodSeconds: $grace) { secret apiToken { ${TOKEN_FIELDS} } } }`,
        { id, grace: options.grace ?? 0 },
      );
      const oldSecret = options.grace
        ? `The old secret keeps working until about ${formatTime(new Date(Date.now() + options.grace * 1000).toISOString())}.`
        : 'The old secret no longer works.';
      printSecret('Regenerated', data.regenerateApiToken, options.quiet === true, oldSecret);
    });

  tokens
    .command('rotate')
    .description('the calling API token replaces its own secret (printed once): for automation that rotates itself')
    .option('--grace <duration>', 'keep the old secret working this long (e.g. 10m; at most 24h)', parseDuration)
    .option('-q, --quiet', 'print only the secret (for $(...))')
    .action(async (options: { grace?: number; quiet?: boolean }, command: Command) => {
      const connection = resolveConnection(command.optsWithGlobals());
      if (connection.tokenSource === 'session') {
        throw usageError('tokens rotate replaces the secret of the API token it runs with: give it with --token or PORTCULLIS_TOKEN (a session cannot rotate itself).');
      }
      const data = await createClient(connection).request<{ rotateCurrentToken: SecretPayload }>(
        `mutation($grace: Int) { rotateCurrentToken(gracePeriodSeconds: $grace) { secret apiToken { ${TOKEN_FIELDS} } } }`,
        { grace: options.grace ?? 0 },
      );
      const oldSecret = options.grace
        ? `The old secret keeps working until about ${formatTime(new Date(Date.now() + options.grace * 1000).toISOString())}: store the new one before then.`
        : 'The old secret no longer works: store the new one now.';
      printSecret('Rotated', data.rotateCurrentToken, options.quiet === true, oldSecret);
    });
}

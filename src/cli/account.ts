// `portcullis login`, `logout` and `whoami`: the session kept in the session file (config.ts).
import type { Command } from 'commander';
import { createClient } from './client';
import { deleteSession, graphqlEndpoint, readSession, resolveConnection, writeSession } from './config';
import { CliError, EXIT, usageError } from './errors';
import { formatJson, formatTime, printLine } from './output';
import { ask, readStdin, stdinIsTerminal } from './prompt';

interface LogInData {
  logIn: { token: string; expiresAt: string; user: { id: string; email: string; name: string } };
}

interface ViewerData {
  viewer: {
    user: { id: string; email: string; name: string } | null;
    apiToken: { id: string; name: string; kind: string; role: string | null; scopeType: string | null } | null;
  };
}

async function readCredentials(options: { email?: string; passwordStdin?: boolean }) {
  if (options.passwordStdin && !options.email) throw usageError('--password-stdin needs --email.');
  if (!options.passwordStdin && !stdinIsTerminal()) {
    throw usageError('stdin is not a terminal: give --email and pipe the password in with --password-stdin.');
  }
  const email = options.email ?? (await ask('Email: '));
  const password = options.passwordStdin ? await readStdin() : await ask('Password: ', { hidden: true });
  if (!email.trim() || !password) throw usageError('An email and a password are needed.');
  return { email: email.trim(), password };
}

export function registerAccountCommands(program: Command): void {
  program
    .command('login')
    .description('log in with email and password and keep the session in a file only you can read')
    .option('--email <email>', 'the account email (asked on a terminal otherwise)')
    .option('--password-stdin', 'read the password from stdin (for scripts)')
    .action(async (options: { email?: string; passwordStdin?: boolean }, command: Command) => {
      // Only the URL: logging in sends no credential but the email and password.
      const { url } = resolveConnection(command.optsWithGlobals());
      const credentials = await readCredentials(options);
      const data = await createClient({ url, token: undefined, tokenSource: 'none' }).request<LogInData>(
        `mutation($input: LogInInput!) { logIn(input: $input) { token expiresAt user { id email name } } }`,
        { input: credentials },
      );
      const { token, expiresAt, user } = data.logIn;
      const file = writeSession({ url, token, expiresAt, email: user.email });
      printLine(`Logged in to ${url} as ${user.name} <${user.email}>. Session saved in ${file}, valid until ${formatTime(expiresAt)}.`);
    });

  program
    .command('logout')
    .description('end the session on the gateway and delete the session file')
    .action(async () => {
      const session = readSession();
      if (!session) {
        printLine('Not logged in.');
        return;
      }
      try {
        await createClient({ url: graphqlEndpoint(session.url), token: session.token, tokenSource: 'session' }).request(`mutation { logOut }`);
      } catch (error) {
        // Refused (e.g. the session expired already): it cannot be used any more, so logging out
        // locally is enough. Unreachable: the session may still be valid on the gateway; say so.
        if (!(error instanceof CliError) || error.exitCode !== EXIT.refused) {
          deleteSession();
          throw new CliError(
            `Deleted the session file, but could not end the session on the gateway (it expires at ${formatTime(session.expiresAt)}): ${(error as Error).message}`,
            error instanceof CliError ? error.exitCode : 1,
          );
        }
      }
      deleteSession();
      printLine('Logged out.');
    });

  program
    .command('whoami')
    .description('who the gateway sees: the user and the token used')
    .option('--json', 'print JSON for scripts')
    .action(async (options: { json?: boolean }, command: Command) => {
      const connection = resolveConnection(command.optsWithGlobals());
      const data = await createClient(connection).request<ViewerData>(
        `query { viewer { user { id email name } apiToken { id name kind role scopeType } } }`,
      );
      const { user, apiToken } = data.viewer;
      if (options.json) {
        printLine(formatJson({ url: connection.url, credential: connection.tokenSource, user, apiToken }));
        return;
      }
      printLine(`Gateway: ${connection.url}`);
      printLine(`User:    ${user ? `${user.name} <${user.email}> (${user.id})` : '- (a service token acts for no user)'}`);
      printLine(
        apiToken
          ? `Token:   "${apiToken.name}" (${apiToken.id}), ${apiToken.kind} ${apiToken.role ?? 'uncapped'}, scope ${apiToken.scopeType ?? 'none'}`
          : `Token:   a session (from ${connection.tokenSource === 'session' ? 'the session file' : `the ${connection.tokenSource}`})`,
      );
    });
}

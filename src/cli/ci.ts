// `portcullis ci token`: inside a CI job, exchange the job's OIDC ID token for a short-lived
// Portcullis token (exchangeFederatedToken), with no stored secret. GitHub Actions: the ID token
// is requested from the runner (ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN, which the job's
// `permissions: id-token: write` provides). GitLab CI: it is read from the variable an
// `id_tokens:` entry defines (--id-token-env). Neither the ID token, nor the runner's request
// token, nor the issued token ever appears in a message.
import { appendFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createClient } from './client';
import { resolveConnection } from './config';
import { CliError, refusedError, unreachableError, usageError } from './errors';
import { formatTime, printLine, printMessage } from './output';

/** The audience asked for when none is given (the policy's `audience` must be the same). */
export const DEFAULT_AUDIENCE = 'portcullis';
const ID_TOKEN_REQUEST_TIMEOUT_MS = 30_000;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface CiTokenOptions {
  policy?: string;
  audience?: string;
  idTokenEnv?: string;
  githubEnv?: string;
}

interface ExchangeData {
  exchangeFederatedToken: {
    secret: string;
    apiToken: { id: string; name: string; role: string; scopeType: string; expiresAt: string };
  };
}

/** The GitHub Actions job's ID token for `audience`, from the runner's token endpoint. */
async function requestGitHubIdToken(requestUrl: string, requestToken: string, audience: string): Promise<string> {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    throw usageError('ACTIONS_ID_TOKEN_REQUEST_URL is not a URL.');
  }
  url.searchParams.set('audience', audience);
  const where = `${url.origin}${url.pathname}`; // no query: it is the runner's business
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      headers: { authorization: `bearer ${requestToken}`, accept: 'application/json; api-version=2.0' },
      signal: AbortSignal.timeout(ID_TOKEN_REQUEST_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${ID_TOKEN_REQUEST_TIMEOUT_MS / 1000} s` : String((error as Error).message);
    throw unreachableError(`Cannot get the job's ID token from GitHub Actions (${where}): ${reason}.`);
  }
  if (!response.ok) {
    // The body is not shown: it is the runner's, and may echo what was sent.
    const message = `GitHub Actions refused the ID token request (HTTP ${response.status}): does the job have \`permissions: id-token: write\`?`;
    throw response.status >= 500 ? unreachableError(message) : refusedError(message);
  }
  let value: unknown;
  try {
    value = (JSON.parse(text) as { value?: unknown }).value;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string' || value === '') throw unreachableError(`GitHub Actions answered the ID token request without a token (${where}).`);
  return value;
}

/** Where the ID token comes from: --id-token-env, else the GitHub Actions runner, else a usage error. */
async function jobIdToken(options: CiTokenOptions, env: NodeJS.ProcessEnv): Promise<string> {
  if (options.idTokenEnv !== undefined) {
    if (!ENV_NAME.test(options.idTokenEnv)) throw usageError(`--id-token-env expects a variable name (got ${JSON.stringify(options.idTokenEnv.slice(0, 100))}).`);
    const value = env[options.idTokenEnv]?.trim();
    if (!value) {
      throw usageError(`The variable ${options.idTokenEnv} is unset or empty: in GitLab CI declare it under the job's id_tokens: (with aud: set to the policy's audience).`);
    }
    return value;
  }
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl && requestToken) return requestGitHubIdToken(requestUrl, requestToken, options.audience ?? DEFAULT_AUDIENCE);
  throw usageError(
    'No ID token: in GitHub Actions give the job `permissions: id-token: write` (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN are unset); ' +
      'in GitLab CI declare an id_tokens: variable and pass --id-token-env NAME.',
  );
}

export function registerCiCommands(program: Command): void {
  const ci = program.command('ci').description('for CI pipelines: Portcullis tokens without stored secrets (workload identity federation)');
  ci.command('token')
    .description("exchange the CI job's OIDC ID token for a short-lived token and print it (or write it to $GITHUB_ENV)")
    .option('--policy <id>', 'the federation policy to use, when several accept the job')
    .option('--audience <audience>', `GitHub Actions: the audience to request (default ${DEFAULT_AUDIENCE}); the policy's audience must be the same`)
    .option('--id-token-env <name>', 'GitLab CI (or any CI): the variable holding the ID token (declared under id_tokens:)')
    .option('--github-env <name>', 'GitHub Actions: print ::add-mask:: for the token and write NAME=<token> to $GITHUB_ENV instead of printing it')
    .action(async (options: CiTokenOptions, command: Command) => {
      const env = process.env;
      // Checked before the ID token is spent (each is exchanged once).
      if (options.githubEnv !== undefined) {
        if (!ENV_NAME.test(options.githubEnv)) throw usageError(`--github-env expects a variable name (got ${JSON.stringify(options.githubEnv.slice(0, 100))}).`);
        if (!env.GITHUB_ENV) throw usageError('--github-env needs $GITHUB_ENV, which GitHub Actions sets in every step.');
      }
      // The exchange needs no credential: none is sent, whatever PORTCULLIS_TOKEN holds.
      const { url } = resolveConnection(command.optsWithGlobals());
      const idToken = await jobIdToken(options, env);
      const data = await createClient({ url, token: undefined, tokenSource: 'none' }).request<ExchangeData>(
        `mutation($idToken: String!, $policyId: ID) {
          exchangeFederatedToken(idToken: $idToken, policyId: $policyId) { secret apiToken { id name role scopeType expiresAt } }
        }`,
        { idToken, policyId: options.policy ?? null },
      );
      const { secret, apiToken } = data.exchangeFederatedToken;
      if (options.githubEnv !== undefined) {
        // Masked in the job's log from here on, before it is anywhere a later step could print it.
        printLine(`::add-mask::${secret}`);
        try {
          appendFileSync(env.GITHUB_ENV!, `${options.githubEnv}=${secret}\n`);
        } catch (error) {
          // The token was issued but is lost to the job: say so (it expires by itself).
          throw new CliError(`Cannot write to $GITHUB_ENV: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, 1);
        }
      } else {
        printLine(secret);
      }
      printMessage(
        `portcullis: token "${apiToken.name}" (${apiToken.id}), SERVICE ${apiToken.role} on ${apiToken.scopeType.toLowerCase()}, ` +
          `expires ${formatTime(apiToken.expiresAt)}${options.githubEnv ? `; in $${options.githubEnv} for the next steps` : ''}.`,
      );
    });
}

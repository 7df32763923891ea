// The `portcullis` program: its commands (account.ts, tokens.ts, ci.ts), global options, and the one
// place where a failure becomes a message on stderr and an exit code (errors.ts).
import { Command, CommanderError } from 'commander';
import { registerAccountCommands } from './account';
import { registerCiCommands } from './ci';
import { CliError, EXIT, redactSecrets } from './errors';
import { printMessage } from './output';
import { registerTokenCommands } from './tokens';

export function buildProgram(): Command {
  const program = new Command('portcullis')
    .description('Manage Portcullis API tokens from a terminal or a script.')
    .option('--url <url>', 'the gateway (default: $PORTCULLIS_URL, the session\'s, or http://127.0.0.1:4000); /graphql is appended to a base URL')
    .option('--token <token>', 'an API token (default: $PORTCULLIS_TOKEN, then the session of `portcullis login`); prefer the variable, arguments show in ps')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 2 usage, 3 refused by the gateway, 4 gateway unreachable or unavailable, 1 anything else.',
    )
    // Commander's own errors become usage errors (exit 2) in main(); set before the commands
    // are added so that they inherit it.
    .exitOverride()
    .showSuggestionAfterError();
  registerAccountCommands(program);
  registerTokenCommands(program);
  registerCiCommands(program);
  return program;
}

/** Runs the program on process.argv-shaped arguments and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message (or the help) already.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      printMessage(`portcullis: ${redactSecrets(error.message)}`);
      return error.exitCode;
    }
    printMessage(`portcullis: unexpected error: ${redactSecrets(error instanceof Error ? error.message : String(error))}`);
    return 1;
  }
}

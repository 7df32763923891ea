// Talking to a person at a terminal (prompts on stderr, so stdout stays the result), and
// reading what a script pipes into stdin.
import readline from 'node:readline';

export const stdinIsTerminal = () => process.stdin.isTTY === true;

/** All of stdin, without its final newline (as `echo "$PASSWORD" |` sends it). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks on the terminal; with `hidden`, what is typed is not echoed (passwords). */
export function ask(question: string, options: { hidden?: boolean } = {}): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true }) as readline.Interface & {
    _writeToOutput(text: string): void;
  };
  if (options.hidden) {
    const write = rl._writeToOutput.bind(rl);
    // readline echoes each key through _writeToOutput: let only the question through.
    rl._writeToOutput = (text: string) => {
      if (text.includes(question) || text === '\r\n' || text === '\n') write(text);
    };
  }
  return new Promise((resolve) =>
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    }),
  );
}

export async function confirm(question: string): Promise<boolean> {
  const answer = await ask(`${question} [y/N] `);
  return /^y(es)?$/i.test(answer.trim());
}

// The `portcullis` CLI as a script runs it: a child process (node src/cli/bin.cjs).
import { spawn } from 'node:child_process';
import path from 'node:path';

export const CLI_ROOT = path.resolve(__dirname, '..', '..');
export const CLI_BIN = path.join(CLI_ROOT, 'src', 'cli', 'bin.cjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with exactly `env` (nothing inherited) and stdin a pipe holding `stdin` (so never a terminal). */
export function runCli(args: string[], env: Record<string, string>, stdin = ''): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd: CLI_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

// The CLI as a child process, pointed at the test run's dev server.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { temporalAddress, uniqueQueue } from './temporal';

export const BIN = path.resolve(__dirname, '../../bin/imagebatch.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    IMAGEBATCH_TASK_QUEUE: uniqueQueue('cli'),
    ...extra,
  };
  // The CLI must not pick up credentials from the developer's shell.
  for (const k of [
    'VOLC_ACCESSKEY',
    'VOLC_SECRETKEY',
    'DASHSCOPE_API_KEY',
    'VOLCENGINE_VISUAL_ENDPOINT',
    'DASHSCOPE_HTTP_BASE_URL',
    'FAL_KEY',
    'FAL_QUEUE_URL',
    'OPENAI_API_KEY',
    'OPENAI_BASE_URL',
    'COMFYUI_URL',
  ]) {
    if (!(k in extra)) delete env[k];
  }
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}

export function spawnCli(
  args: string[],
  o: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): ChildProcess & { output: CliResult; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: o.env ?? cliEnv(),
    cwd: o.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: CliResult = { code: null, stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (output.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output.stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ ...output, code })));
  return Object.assign(child, { output, done });
}

export function runCli(args: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return spawnCli(args, o).done;
}

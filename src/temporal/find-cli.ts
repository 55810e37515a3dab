// Finds the `temporal` CLI (which embeds the dev server) in the order the design gives, building it with Go
// as a last resort. The SDK's own download needs the internet; it is tried only when nothing local exists.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEMPORAL_CLI_VERSION } from '../shared/constants';

export class TemporalCliNotFound extends Error {
  name = 'TemporalCliNotFound';
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'imagebatch');
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** A binary that is already here, without building or downloading anything. */
export function findLocalTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TEMPORAL_CLI_PATH) {
    if (!isExecutable(env.TEMPORAL_CLI_PATH)) {
      throw new TemporalCliNotFound(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file`);
    }
    return env.TEMPORAL_CLI_PATH;
  }
  const fromPath = onPath('temporal', env);
  if (fromPath) return fromPath;
  const cached = path.join(cacheDir(env), 'temporal');
  if (isExecutable(cached)) return cached;
  // The SDK's cached download (createLocal without existing-path) lands here.
  const sdkCached = path.join(os.tmpdir(), 'temporal-sdk-typescript-1.24.0');
  if (isExecutable(sdkCached)) return sdkCached;
  return undefined;
}

export interface FindOptions {
  env?: NodeJS.ProcessEnv;
  /** Where progress messages go (the build takes minutes). */
  log?: (line: string) => void;
}

/** Builds the CLI with `go install` into the user cache. One-time: later runs find the binary there. */
export async function buildTemporalCli({ env = process.env, log = console.error }: FindOptions = {}): Promise<string> {
  const go = onPath('go', env) ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new TemporalCliNotFound(
      'No `temporal` CLI was found and Go is not installed to build one.\n' +
        '  Install the Temporal CLI (https://docs.temporal.io/cli) and put it on PATH, or set TEMPORAL_CLI_PATH,\n' +
        '  or install Go >= 1.25 so imagebatch can build it, or set TEMPORAL_ADDRESS to use a running server.',
    );
  }
  const dir = cacheDir(env);
  fs.mkdirSync(dir, { recursive: true });
  const pkg = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;
  log(`imagebatch: building the Temporal CLI (${pkg}) with Go into ${dir}.`);
  log('imagebatch: this happens once and takes a few minutes; later runs reuse the binary.');
  const started = Date.now();
  const child = spawn(go, ['install', pkg], { env: { ...env, GOBIN: dir }, stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  });
  const built = path.join(dir, 'temporal');
  if (code !== 0 || !isExecutable(built)) {
    throw new TemporalCliNotFound(`\`go install ${pkg}\` failed (exit ${code}). See the output above.`);
  }
  log(`imagebatch: built ${built} in ${Math.round((Date.now() - started) / 1000)} s.`);
  return built;
}

/** TEMPORAL_CLI_PATH, then PATH, then the user cache, then a Go build into the cache. */
export async function findTemporalCli(options: FindOptions = {}): Promise<string> {
  return findLocalTemporalCli(options.env) ?? (await buildTemporalCli(options));
}

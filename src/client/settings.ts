// Run settings: flags win over environment variables, which win over config.json (the old tools' files keep
// working: an `image_generation` block with max_concurrent, max_wait_time, poll_interval, max_retries).
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY } from '../shared/constants';
import { batchPolicy } from '../shared/policy';
import type { ImagePolicy } from '../shared/types';
import { UsageError } from './exit-codes';

export interface SettingFlags {
  concurrency?: number;
  maxConcurrent?: number;
  pollInterval?: number;
  maxWait?: number;
  retries?: number;
  config?: string;
}

export interface RunSettings {
  concurrency: number;
  policy: ImagePolicy;
  /** Where each value came from, for the summary line. */
  sources: Record<string, string>;
}

interface ConfigBlock {
  max_concurrent?: number;
  max_wait_time?: number;
  poll_interval?: number;
  max_retries?: number;
}

function readConfig(explicit?: string): { file?: string; block: ConfigBlock } {
  const candidates = explicit ? [explicit] : ['config.json', path.join('config', 'config.json')];
  for (const file of candidates) {
    if (!fs.existsSync(file)) {
      if (explicit) throw new UsageError(`--config ${file}: no such file`);
      continue;
    }
    let json: { image_generation?: ConfigBlock };
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new UsageError(`${file}: not valid JSON: ${(err as Error).message}`);
    }
    const block = json.image_generation ?? {};
    for (const [k, v] of Object.entries(block)) {
      if (
        ['max_concurrent', 'max_wait_time', 'poll_interval', 'max_retries'].includes(k) &&
        (typeof v !== 'number' || !(v >= 0))
      ) {
        throw new UsageError(`${file}: image_generation.${k}: expected a number >= 0`);
      }
    }
    return { file, block };
  }
  return { block: {} };
}

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name}=${v}: expected a number >= 0`);
  return n;
}

export function resolveSettings(flags: SettingFlags, env: NodeJS.ProcessEnv = process.env): RunSettings {
  const { file, block } = readConfig(flags.config);
  const sources: Record<string, string> = {};
  const pick = (name: string, ...options: [string, number | undefined][]): number | undefined => {
    for (const [source, value] of options) {
      if (value !== undefined) {
        sources[name] = source;
        return value;
      }
    }
    return undefined;
  };
  const cfg = file ? `${file}` : 'config';
  const concurrency =
    pick(
      'concurrency',
      ['--concurrency', flags.concurrency],
      ['--max-concurrent', flags.maxConcurrent],
      ['IMAGE_GENERATION_MAX_CONCURRENT', envNumber(env, 'IMAGE_GENERATION_MAX_CONCURRENT')],
      [cfg, block.max_concurrent],
    ) ?? DEFAULT_CONCURRENCY;
  const maxWaitS = pick(
    'maxWait',
    ['--max-wait', flags.maxWait],
    ['IMAGE_GENERATION_MAX_WAIT_TIME', envNumber(env, 'IMAGE_GENERATION_MAX_WAIT_TIME')],
    [cfg, block.max_wait_time],
  );
  const pollS = pick('pollInterval', ['--poll-interval', flags.pollInterval], [cfg, block.poll_interval]);
  const retries = pick('retries', ['--retries', flags.retries], [cfg, block.max_retries]);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new UsageError(
      `concurrency (${sources.concurrency ?? 'default'}): expected a whole number from 1 to ${MAX_CONCURRENCY}, got ${concurrency}`,
    );
  }
  const policy = batchPolicy({
    ...(pollS !== undefined ? { pollIntervalMs: Math.round(pollS * 1000) } : {}),
    ...(maxWaitS !== undefined ? { maxWaitMs: Math.round(maxWaitS * 1000) } : {}),
    ...(retries !== undefined ? { retries: Math.floor(retries) } : {}),
  });
  if (policy.pollIntervalMs < 100) throw new UsageError(`poll interval (${sources.pollInterval}): at least 0.1 s`);
  if (policy.maxWaitMs < 1000) throw new UsageError(`max wait (${sources.maxWait}): at least 1 s`);
  return { concurrency, policy, sources };
}

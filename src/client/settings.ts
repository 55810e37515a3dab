// Run settings: flags win over environment variables, which win over config.json (the old tools' files keep
// working: an `image_generation` block with max_concurrent, max_wait_time, poll_interval, max_retries, and
// `providers.<provider>.max_in_flight`). Every numeric setting has one set of bounds (BOUNDS), wherever it comes
// from: a config value the flag would refuse is refused too (exit 2), naming the file and the key.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { COMMAND_ENV_VAR } from '../activities/completion';
import { MAX_ACCOUNT_LIMIT } from '../shared/accounts';
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY } from '../shared/constants';
import { MAX_POLICY_MS } from '../shared/item-schema';
import { batchPolicy } from '../shared/policy';
import { PROVIDER_KINDS, type ImagePolicy, type ProviderKind } from '../shared/types';
import { UsageError } from './exit-codes';

interface Bound {
  min: number;
  max: number;
  /** Whole numbers; else seconds (fractions allowed). */
  whole: boolean;
}

/** Seconds, as the per-item policy bounds them (a day at most). */
const MAX_POLICY_S = MAX_POLICY_MS / 1000;

export const BOUNDS = {
  concurrency: { min: 1, max: MAX_CONCURRENCY, whole: true },
  pollInterval: { min: 0.1, max: MAX_POLICY_S, whole: false },
  maxWait: { min: 1, max: MAX_POLICY_S, whole: false },
  retries: { min: 0, max: 20, whole: true },
  maxInFlight: { min: 1, max: MAX_ACCOUNT_LIMIT, whole: true },
  maxSubmissions: { min: 1, max: 1_000_000, whole: true },
} satisfies Record<string, Bound>;

export type Setting = keyof typeof BOUNDS;

function expected(b: Bound): string {
  return b.whole ? `a whole number from ${b.min} to ${b.max}` : `seconds >= ${b.min} and <= ${b.max}`;
}

const inBounds = (b: Bound, n: unknown): n is number =>
  typeof n === 'number' && Number.isFinite(n) && n >= b.min && n <= b.max && (!b.whole || Number.isInteger(n));

/** Parses a setting given as text (a flag or an environment variable); the message says what is wrong. */
function parseSetting(setting: Setting, text: string): number | { wrong: string } {
  const b = BOUNDS[setting];
  const t = text.trim();
  // Plain decimal notation only: `1e308` or `0x10` are not what anyone types for a count or seconds.
  if (!/^-?(\d+\.?\d*|\.\d+)$/.test(t)) return { wrong: `expected a number (${expected(b)}), got '${text}'` };
  const n = Number(t);
  return inBounds(b, n) ? n : { wrong: `expected ${expected(b)}, got '${text}'` };
}

/** A flag's or argument's parser for commander (its refusals exit 2). */
export function flagArg(setting: Setting) {
  return (text: string): number => {
    const n = parseSetting(setting, text);
    if (typeof n !== 'number') throw new InvalidArgumentError(n.wrong);
    return n;
  };
}

/** The same, for a value given on the command line where commander does not parse it (`limit PROVIDER N`). */
export function argSetting(setting: Setting, text: string, name: string): number {
  const n = parseSetting(setting, text);
  if (typeof n !== 'number') throw new UsageError(`${name}: ${n.wrong}`);
  return n;
}

function envSetting(env: NodeJS.ProcessEnv, name: string, setting: Setting): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = parseSetting(setting, v);
  if (typeof n !== 'number') throw new UsageError(`${name}=${v}: ${n.wrong}`);
  return n;
}

/** The environment variable with a provider account's starting limit: IMAGEBATCH_VOLCENGINE_MAX_IN_FLIGHT. */
export const maxInFlightVar = (p: ProviderKind) => `IMAGEBATCH_${p.toUpperCase()}_MAX_IN_FLIGHT`;

const CONFIG_KEYS = {
  max_concurrent: 'concurrency',
  max_wait_time: 'maxWait',
  poll_interval: 'pollInterval',
  max_retries: 'retries',
} as const satisfies Record<string, Setting>;

interface Config {
  /** The file as found, for messages and the summary. */
  file?: string;
  values: Partial<Record<(typeof CONFIG_KEYS)[keyof typeof CONFIG_KEYS], number>>;
  maxInFlight: Partial<Record<ProviderKind, number>>;
  /** image_generation.on_complete_env: variables of the worker a completion command may see. */
  onCompleteEnv?: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** config.json (or config/config.json, or --config), every value it sets checked against BOUNDS. */
function readConfig(explicit?: string): Config {
  const candidates = explicit ? [explicit] : ['config.json', path.join('config', 'config.json')];
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) {
    if (explicit) throw new UsageError(`--config ${explicit}: no such file`);
    return { values: {}, maxInFlight: {} };
  }
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  const wrong = (key: string, what: string) => new UsageError(`${file}: ${key}: ${what}`);
  if (!isObject(json)) throw wrong('(top level)', 'expected an object');
  const block = json.image_generation ?? {};
  if (!isObject(block)) throw wrong('image_generation', 'expected an object');
  const value = (key: string, v: unknown, setting: Setting): number => {
    if (!inBounds(BOUNDS[setting], v))
      throw wrong(key, `expected ${expected(BOUNDS[setting])}, got ${JSON.stringify(v)}`);
    return v;
  };
  const config: Config = { file, values: {}, maxInFlight: {} };
  for (const [key, setting] of Object.entries(CONFIG_KEYS))
    if (key in block) config.values[setting] = value(`image_generation.${key}`, block[key], setting);
  const providers = block.providers ?? {};
  if (!isObject(providers)) throw wrong('image_generation.providers', 'expected an object');
  for (const [name, p] of Object.entries(providers)) {
    const key = `image_generation.providers.${name}`;
    // Other keys of a provider block (the old tools kept theirs there) are not imagebatch's to judge.
    if (!isObject(p) || !('max_in_flight' in p)) continue;
    const kind = PROVIDER_KINDS.find((k) => k === name);
    if (!kind) throw wrong(key, `not a provider imagebatch speaks (${PROVIDER_KINDS.join(', ')})`);
    config.maxInFlight[kind] = value(`${key}.max_in_flight`, p.max_in_flight, 'maxInFlight');
  }
  if ('on_complete_env' in block) {
    const names = block.on_complete_env;
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string' && ENV_NAME.test(n)))
      throw wrong('image_generation.on_complete_env', 'expected a list of environment variable names');
    config.onCompleteEnv = names as string[];
  }
  return config;
}

/** An environment variable's name, as `--on-complete-env` and the config take it. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The variables of this process's worker a completion command may see besides PATH, HOME, the locale, TZ and TMPDIR:
 * `--on-complete-env NAME` (each), else IMAGEBATCH_ON_COMPLETE_ENV, else the config's on_complete_env. Set in this
 * process's environment, where the worker's completion activity reads it.
 */
export function applyCommandEnv(flags: { onCompleteEnv?: string[]; config?: string }, env = process.env): void {
  const names = flags.onCompleteEnv?.length ? flags.onCompleteEnv : undefined;
  if (names) env[COMMAND_ENV_VAR] = names.join(',');
  else if (!env[COMMAND_ENV_VAR]) {
    const fromConfig = readConfig(flags.config).onCompleteEnv;
    if (fromConfig?.length) env[COMMAND_ENV_VAR] = fromConfig.join(',');
  }
}

export interface SettingFlags {
  concurrency?: number;
  maxConcurrent?: number;
  pollInterval?: number;
  maxWait?: number;
  retries?: number;
  config?: string;
}

/** The limit each provider account starts with when a worker of this process first opens it (env over config). */
export type AccountLimits = Partial<Record<ProviderKind, number>>;

export interface RunSettings {
  concurrency: number;
  policy: ImagePolicy;
  accountLimits: AccountLimits;
  /** Where each value came from, for the summary line. */
  sources: Record<string, string>;
}

function accountLimitsOf(config: Config, env: NodeJS.ProcessEnv): AccountLimits {
  const limits: AccountLimits = {};
  for (const p of PROVIDER_KINDS) {
    const n = envSetting(env, maxInFlightVar(p), 'maxInFlight') ?? config.maxInFlight[p];
    if (n !== undefined) limits[p] = n;
  }
  return limits;
}

/** The account limits alone, for commands that run workers but start no batch (`worker`, `resume`, `retry`). */
export function resolveAccountLimits(flags: { config?: string }, env: NodeJS.ProcessEnv = process.env) {
  return accountLimitsOf(readConfig(flags.config), env);
}

export function resolveSettings(flags: SettingFlags, env: NodeJS.ProcessEnv = process.env): RunSettings {
  const config = readConfig(flags.config);
  const cfg = config.file ?? 'config';
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
  const concurrency =
    pick(
      'concurrency',
      ['--concurrency', flags.concurrency],
      ['--max-concurrent', flags.maxConcurrent],
      ['IMAGE_GENERATION_MAX_CONCURRENT', envSetting(env, 'IMAGE_GENERATION_MAX_CONCURRENT', 'concurrency')],
      [cfg, config.values.concurrency],
    ) ?? DEFAULT_CONCURRENCY;
  const maxWaitS = pick(
    'maxWait',
    ['--max-wait', flags.maxWait],
    ['IMAGE_GENERATION_MAX_WAIT_TIME', envSetting(env, 'IMAGE_GENERATION_MAX_WAIT_TIME', 'maxWait')],
    [cfg, config.values.maxWait],
  );
  const pollS = pick('pollInterval', ['--poll-interval', flags.pollInterval], [cfg, config.values.pollInterval]);
  const retries = pick('retries', ['--retries', flags.retries], [cfg, config.values.retries]);
  const policy = batchPolicy({
    ...(pollS !== undefined ? { pollIntervalMs: Math.round(pollS * 1000) } : {}),
    ...(maxWaitS !== undefined ? { maxWaitMs: Math.round(maxWaitS * 1000) } : {}),
    ...(retries !== undefined ? { retries } : {}),
  });
  return { concurrency, policy, accountLimits: accountLimitsOf(config, env), sources };
}

/** Where `worker` serves Prometheus metrics: `--metrics IP:PORT`, else IMAGEBATCH_METRICS; undefined: nowhere. */
export function metricsAddress(flags: { metrics?: string }, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = flags.metrics ?? (env.IMAGEBATCH_METRICS || undefined);
  if (value === undefined) return undefined;
  const wrong = hostPortProblem(value);
  if (wrong) throw new UsageError(`${flags.metrics ? '--metrics' : 'IMAGEBATCH_METRICS'}: ${wrong}`);
  return value;
}

/** IP:PORT (an IPv6 address in brackets), which the SDK's Prometheus exporter binds (no host names); else why not. */
function hostPortProblem(value: string): string | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const ok = m && (m[1] ? net.isIPv6(m[1]) : net.isIPv4(m[2])) && Number(m[3]) <= 65535;
  return ok ? undefined : `expected IP:PORT (e.g. 0.0.0.0:9464 or [::]:9464), got '${value}'`;
}

// `imagebatch simulator`: the provider simulator as a standalone server.
import fs from 'node:fs';
import type { Command } from 'commander';
import { type KnobsInput, KnobsSchema, parseLatency } from '../../providers/simulator/knobs';
import { startSimulator } from '../../providers/simulator/server';
import { action } from '../action';
import { UsageError } from '../exit-codes';

const rate = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--${name}: expected a rate from 0 to 1, got '${v}'`);
  return n;
};
const ms = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name}: expected milliseconds >= 0, got '${v}'`);
  return n;
};

export function addSimulatorCommand(program: Command) {
  program
    .command('simulator')
    .description(
      'run the provider simulator: Volcengine Visual, DashScope, fal, OpenAI Images and ComfyUI wire formats on one HTTP port',
    )
    .option('--port <port>', 'port to listen on (0 picks one)', '8787')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--public-url <url>', 'the base URL clients reach it at (image links use it), e.g. http://simulator:8787')
    .option('--config <file>', 'knobs from a JSON file (flags override it); keys as in GET /__knobs')
    .option('--latency <spec>', 'task generation time: MS, uniform:MIN-MAX or normal:MEAN,SD (default 2000)')
    .option(
      '--queue-share <rate>',
      'share of the latency a task spends queued before generating (default 0.2)',
      rate('queue-share'),
    )
    .option('--fail-5xx <rate>', 'share of API requests answered 500 with the provider error body', rate('fail-5xx'))
    .option(
      '--fail-429 <rate>',
      'share answered 429 (Volcengine 50429/50430, DashScope Throttling.RateQuota)',
      rate('fail-429'),
    )
    .option('--malformed <rate>', 'share answered 200 with a truncated JSON body', rate('malformed'))
    .option('--slow <rate>', 'share answered only after --slow-ms', rate('slow'))
    .option('--slow-ms <ms>', 'delay of a slow response (default 3000)', ms('slow-ms'))
    .option('--hang <rate>', 'share never answered; the connection is dropped after --hang-ms', rate('hang'))
    .option('--hang-ms <ms>', 'how long a hung request is held (default 120000)', ms('hang-ms'))
    .option('--faults-on <which>', 'requests faults apply to: all, submit or status (default all)')
    .option('--expire <rate>', 'share of tasks that end expired (Volcengine) / UNKNOWN (DashScope)', rate('expire'))
    .option(
      '--output-reject <rate>',
      'share of Volcengine tasks whose output is rejected retryably (50511)',
      rate('output-reject'),
    )
    .option(
      '--moderation-words <list>',
      "comma-separated words that moderation rejects (default '血腥,暴力,gore,bloody'; '' for none)",
    )
    .option(
      '--moderation-at <when>',
      'reject at submit (50413 / DataInspectionFailed) or at result (50512 / FAILED task)',
    )
    .option('--concurrency-limit <n>', 'provider-side cap on unfinished tasks; more gets 50430 / Throttling (0 = none)')
    .option('--bad-image <rate>', 'share of image downloads that are bad (see --bad-image-kind)', rate('bad-image'))
    .option('--bad-image-kind <kind>', 'oversize, wrong-magic, truncated, not-found or redirect-non-http')
    .option('--volcengine-images <mode>', 'Volcengine results as auto (per req_json.return_url), url or base64')
    .option('--volc-access-key <ak>', 'the access key it accepts (default AKSIMULATOR)')
    .option('--volc-secret-key <sk>', 'the secret key it verifies signatures with (default SKSIMULATOR)')
    .option('--dashscope-key <key>', 'the DashScope API key it accepts (default sk-simulator)')
    .option('--fal-key <key>', 'the fal key it accepts (default fal-simulator)')
    .option('--openai-key <key>', 'the OpenAI API key it accepts (default sk-openai-simulator)')
    .option(
      '--fal-moderation <how>',
      'how fal reports a moderated prompt at result: content_policy_violation (a 422) or has_nsfw_concepts',
    )
    .option('--random-seed <n>', 'seed of the fault and latency draws (default 1)')
    .addHelpText(
      'after',
      '\nEndpoints: POST /?Action=CVSync2AsyncSubmitTask|CVSync2AsyncGetResult|CVCancelTask (Volcengine, signed),\n' +
        'POST /api/v1/services/aigc/text2image/image-synthesis, GET /api/v1/tasks/{id}, POST /api/v1/tasks/{id}/cancel\n' +
        '(DashScope), POST /fal/{owner}/{app}, GET /fal/{owner}/{app}/requests/{id}[/status], PUT .../cancel (fal),\n' +
        'POST /v1/images/generations (OpenAI), POST /prompt, GET /history/{id}, GET|POST /queue, POST /interrupt,\n' +
        'GET /view (ComfyUI), GET /images/{task}/0.png, GET /__stats, GET|POST /__knobs, POST /__reset.',
    )
    .action(action(simulatorCommand));
}

export interface SimulatorFlags {
  publicUrl?: string;
  port: string;
  host: string;
  config?: string;
  latency?: string;
  queueShare?: number;
  fail5xx?: number;
  fail429?: number;
  malformed?: number;
  slow?: number;
  slowMs?: number;
  hang?: number;
  hangMs?: number;
  faultsOn?: string;
  expire?: number;
  outputReject?: number;
  moderationWords?: string;
  moderationAt?: string;
  concurrencyLimit?: string;
  badImage?: number;
  badImageKind?: string;
  volcengineImages?: string;
  volcAccessKey?: string;
  volcSecretKey?: string;
  dashscopeKey?: string;
  falKey?: string;
  openaiKey?: string;
  falModeration?: string;
  randomSeed?: string;
}

export function knobsFromFlags(f: SimulatorFlags): KnobsInput {
  let knobs: Record<string, unknown> = {};
  if (f.config) {
    try {
      knobs = JSON.parse(fs.readFileSync(f.config, 'utf8'));
    } catch (err) {
      throw new UsageError(`--config ${f.config}: ${(err as Error).message}`);
    }
  }
  const set = (k: string, v: unknown) => {
    if (v !== undefined) knobs[k] = v;
  };
  try {
    set('latencyMs', f.latency === undefined ? undefined : parseLatency(f.latency));
  } catch (err) {
    throw new UsageError(`--latency: ${(err as Error).message}`);
  }
  set('queueShare', f.queueShare);
  set('fail5xx', f.fail5xx);
  set('fail429', f.fail429);
  set('malformed', f.malformed);
  set('slow', f.slow);
  set('slowMs', f.slowMs);
  set('hang', f.hang);
  set('hangMs', f.hangMs);
  set('faultsOn', f.faultsOn);
  set('expire', f.expire);
  set('outputReject', f.outputReject);
  set('moderationWords', f.moderationWords === undefined ? undefined : f.moderationWords.split(',').filter(Boolean));
  set('moderationAt', f.moderationAt);
  set('concurrencyLimit', f.concurrencyLimit === undefined ? undefined : Number(f.concurrencyLimit));
  set('badImage', f.badImage);
  set('badImageKind', f.badImageKind);
  set('volcengineImages', f.volcengineImages);
  set('volcAccessKey', f.volcAccessKey);
  set('volcSecretKey', f.volcSecretKey);
  set('dashscopeKey', f.dashscopeKey);
  set('falKey', f.falKey);
  set('openaiKey', f.openaiKey);
  set('falModeration', f.falModeration);
  set('randomSeed', f.randomSeed === undefined ? undefined : Number(f.randomSeed));
  const parsed = KnobsSchema.safeParse(knobs);
  if (!parsed.success) {
    const where = f.config ? `${f.config} or flags` : 'flags';
    throw new UsageError(
      `simulator knobs (${where}): ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

export async function simulatorCommand(flags: SimulatorFlags): Promise<number> {
  const knobs = knobsFromFlags(flags);
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port: '${flags.port}' is not a port`);
  const sim = await startSimulator(knobs, port, flags.host, { publicUrl: flags.publicUrl });
  const env = sim.env();
  console.log(`provider simulator on ${sim.url}`);
  console.log('Point imagebatch at it:');
  for (const [k, v] of Object.entries(env)) console.log(`  export ${k}=${v}`);
  console.log(`Stats: ${sim.url}/__stats   Knobs: ${sim.url}/__knobs`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sim.close();
  return 0;
}

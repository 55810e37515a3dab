// The simulator's knobs: one zod schema for the JSON file, the CLI flags and the test API.
import { z } from 'zod';
import { OpenaiBatchKnobsSchema } from './openai-batch-knobs';

const rate = z.number().min(0).max(1);

export const LatencySchema = z.union([
  z.number().nonnegative(),
  z.object({ dist: z.literal('uniform'), min: z.number().nonnegative(), max: z.number().nonnegative() }),
  z.object({ dist: z.literal('normal'), mean: z.number().nonnegative(), sd: z.number().nonnegative() }),
]);
export type Latency = z.infer<typeof LatencySchema>;

export const KnobsSchema = z
  .object({
    /** Task generation time in ms: fixed, uniform or normal. */
    latencyMs: LatencySchema.default(2000),
    /** Share of the latency a task spends queued (in_queue / PENDING) before generating. */
    queueShare: rate.default(0.2),
    /** Fault rates, each drawn per API request (not for image downloads). */
    fail5xx: rate.default(0),
    fail429: rate.default(0),
    malformed: rate.default(0),
    slow: rate.default(0),
    slowMs: z.number().nonnegative().default(3000),
    hang: rate.default(0),
    hangMs: z.number().nonnegative().default(120_000),
    /** Which requests faults apply to. */
    faultsOn: z.enum(['all', 'submit', 'status']).default('all'),
    /** Share of tasks that report expired / UNKNOWN once finished instead of an image. */
    expire: rate.default(0),
    /** The first N tasks of each prompt end expired, whatever the rate: deterministic tests. */
    expireFirst: z.number().int().nonnegative().default(0),
    /** The first N Volcengine tasks of each prompt have their output rejected retryably (50511). */
    outputRejectFirst: z.number().int().nonnegative().default(0),
    /** Share of Volcengine tasks whose output is rejected retryably (50511). */
    outputReject: rate.default(0),
    /** Prompts containing any of these (case-insensitive) are rejected by moderation. */
    moderationWords: z.array(z.string().min(1)).default(['血腥', '暴力', 'gore', 'bloody']),
    moderationAt: z.enum(['submit', 'result']).default('submit'),
    /** Provider-side cap on unfinished tasks; over it submissions get 50430 / Throttling.RateQuota. 0 = none. */
    concurrencyLimit: z.number().int().nonnegative().default(0),
    /** Bad image downloads, for robustness tests. */
    badImage: rate.default(0),
    badImageKind: z
      .enum(['oversize', 'wrong-magic', 'truncated', 'not-found', 'redirect-non-http'])
      .default('wrong-magic'),
    /** Image URLs vs base64 for Volcengine results (Volcengine honours req_json.return_url when 'auto'). */
    volcengineImages: z.enum(['auto', 'url', 'base64']).default('auto'),
    /** Credentials the simulator accepts. */
    volcAccessKey: z.string().default('AKSIMULATOR'),
    volcSecretKey: z.string().default('SKSIMULATOR'),
    dashscopeKey: z.string().default('sk-simulator'),
    falKey: z.string().default('fal-simulator'),
    openaiKey: z.string().default('sk-openai-simulator'),
    /** How fal reports a moderated prompt at result: a 422 from the result URL, or has_nsfw_concepts: [true]. */
    falModeration: z.enum(['content_policy_violation', 'has_nsfw_concepts']).default('content_policy_violation'),
    /** OpenAI's Batch API (Files and Batches endpoints). */
    openaiBatch: OpenaiBatchKnobsSchema.prefault({}),
    /** Seed of the fault and latency draws, so a run can be repeated. */
    randomSeed: z.number().int().default(1),
  })
  .strict();

export type Knobs = z.infer<typeof KnobsSchema>;
export type KnobsInput = z.input<typeof KnobsSchema>;

/** `2000`, `uniform:1000-3000`, `normal:2000,500` */
export function parseLatency(s: string): Latency {
  const fixed = Number(s);
  if (s.trim() !== '' && Number.isFinite(fixed)) return fixed;
  let m = /^uniform:(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(s);
  if (m) return { dist: 'uniform', min: Number(m[1]), max: Number(m[2]) };
  m = /^normal:(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)$/.exec(s);
  if (m) return { dist: 'normal', mean: Number(m[1]), sd: Number(m[2]) };
  throw new Error(`latency '${s}': expected MS, uniform:MIN-MAX or normal:MEAN,SD`);
}

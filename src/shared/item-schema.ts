// The items file's schema, and the one item type derived from it. Workflow code imports the types only
// (`import type`): zod stays out of the workflow bundle, where every cached workflow would instantiate it.
import { z } from 'zod';
import { PROVIDER_KINDS } from './providers';

/** Ids and file names become paths: safe characters only, no separators, no `.`/`..`. */
export const SAFE_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;

/** The extensions of the images imagebatch writes; an output file name ends in one of them. */
export const IMAGE_EXT = /\.(png|jpe?g|webp)$/i;

/** No wait of an image needs more than a day; 2^53 ms (a timer of 285,000 years) is a mistake, not a policy. */
export const MAX_POLICY_MS = 24 * 60 * 60 * 1000;
const DAY_MESSAGE = `must be at most ${MAX_POLICY_MS} (24 hours)`;

export const PolicySchema = z
  .object({
    pollIntervalMs: z.number().min(100).max(MAX_POLICY_MS, DAY_MESSAGE).int(),
    maxWaitMs: z.number().min(1000).max(MAX_POLICY_MS, DAY_MESSAGE).int(),
    /** Resubmissions after a lost, failed or timed-out task. */
    retries: z.number().int().min(0).max(20),
    /** Prompt simplifications after moderation rejections. */
    simplifications: z.number().int().min(0).max(10),
    /** How long to wait (a durable timer) before the first poll. */
    expectedLatencyMs: z.number().min(0).max(MAX_POLICY_MS, DAY_MESSAGE).int(),
  })
  .strict();

const PROVIDER_NAMES = `must be one of ${PROVIDER_KINDS.join(', ')}`;
const ProviderName = z.enum(PROVIDER_KINDS, { message: PROVIDER_NAMES });

/** A union's own message says only "invalid input": say what is wrong with the name or the list. */
function providerProblem(issue: { input?: unknown }): string {
  const v = issue.input;
  if (typeof v === 'string') return PROVIDER_NAMES;
  if (!Array.isArray(v)) return `${PROVIDER_NAMES}, or a list of them in the order to try`;
  if (!v.length) return 'must name at least one provider';
  const bad = v.findIndex((p) => !(PROVIDER_KINDS as readonly unknown[]).includes(p));
  if (bad >= 0) return `[${bad}] ${JSON.stringify(v[bad])}: ${PROVIDER_NAMES}`;
  return `must name at most ${PROVIDER_KINDS.length} providers`;
}

export const ItemSchema = z
  .object({
    id: z
      .union([z.string(), z.number().int().nonnegative()])
      .transform(String)
      .pipe(z.string().regex(SAFE_NAME, 'use 1-128 letters, digits, dot, dash or underscore (no / or ..)'))
      .optional(),
    prompt: z.string().trim().min(1, 'must not be empty').max(4000, 'is over 4000 characters'),
    negativePrompt: z.string().max(2000).optional(),
    width: z.number().int().min(64).max(8192).optional(),
    height: z.number().int().min(64).max(8192).optional(),
    seed: z.number().int().min(-1).max(2147483647).optional(),
    style: z.string().max(100).optional(),
    /** Local paths or http(s) URLs; read by the activity, never carried as bytes in history. */
    referenceImages: z.array(z.string().min(1).max(4096)).max(10).optional(),
    /** Output file name (without folder); default `<id>.<ext>`. */
    filename: z
      .string()
      .regex(SAFE_NAME, 'must be a plain file name (no / or ..)')
      .regex(IMAGE_EXT, 'must end in .png, .jpg, .jpeg or .webp')
      .optional(),
    /** One provider, or several in the order to try them (fallback: the next when one cannot serve the item). */
    provider: z
      .union(
        [ProviderName, z.array(ProviderName).min(1, 'must name at least one provider').max(PROVIDER_KINDS.length)],
        { error: providerProblem },
      )
      .refine((p) => typeof p === 'string' || new Set(p).size === p.length, 'must not name a provider twice')
      .optional(),
    /**
     * ComfyUI: the item's own graph file (API format with its mapping), relative to the items file; the reader
     * makes it absolute and checks it, the activity reads it (a graph is not carried in history per item).
     */
    workflow: z.string().min(1).max(4096).optional(),
    /** Variations: this many images of the prompt (seeds seed, seed+1, ..., or drawn and recorded). */
    n: z.number().int().min(1).max(16).optional(),
    /** Variations with these seeds, one image each. */
    seeds: z.array(z.number().int().min(0).max(2147483647)).min(1).max(16).optional(),
    /** Set by the reader on each variant: the id of the item it is a variation of, and which one (1-based). */
    group: z.string().regex(SAFE_NAME).optional(),
    variant: z.number().int().min(1).max(16).optional(),
    /** Volcengine req_key or DashScope model name. */
    model: z.string().min(1).max(200).optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    /** Per-item policy overrides. */
    policy: PolicySchema.partial().strict().optional(),
  })
  .strict();

export const ITEM_FIELDS = Object.keys(ItemSchema.shape);

export type ImagePolicy = z.output<typeof PolicySchema>;

/** One item of a batch, validated; its id is always set (the line number when the file gave none). */
export type ImageItem = z.output<typeof ItemSchema> & { id: string };

/** What is sent to the provider for an item: everything but where the result goes and how it is run. */
export type ImageRequestSpec = Omit<
  ImageItem,
  'id' | 'filename' | 'provider' | 'policy' | 'n' | 'seeds' | 'group' | 'variant'
>;

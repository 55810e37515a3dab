// The items file's schema. Used by the CLI only: workflow code must not import zod (every cached workflow
// would instantiate these schemas).
import { z } from 'zod';
import { PROVIDER_KINDS } from './types';

/** Ids and file names become paths: safe characters only, no separators, no `.`/`..`. */
export const SAFE_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;

const policy = z
  .object({
    pollIntervalMs: z.number().int().min(100),
    maxWaitMs: z.number().int().min(1000),
    retries: z.number().int().min(0).max(20),
    simplifications: z.number().int().min(0).max(10),
    expectedLatencyMs: z.number().int().min(0),
  })
  .partial()
  .strict();

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
    referenceImages: z.array(z.string().min(1)).max(10).optional(),
    filename: z
      .string()
      .regex(SAFE_NAME, 'must be a plain file name (no / or ..)')
      .regex(/\.(png|jpe?g|webp)$/i, 'must end in .png, .jpg, .jpeg or .webp')
      .optional(),
    provider: z
      .enum(PROVIDER_KINDS as [string, ...string[]], { message: `must be one of ${PROVIDER_KINDS.join(', ')}` })
      .optional(),
    model: z.string().min(1).max(200).optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    policy: policy.optional(),
  })
  .strict();

export const ITEM_FIELDS = Object.keys(ItemSchema.shape);

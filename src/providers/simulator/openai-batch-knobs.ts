// Knobs of the simulated OpenAI Batch API (Files + Batches): how long a job takes, how it ends, what its lines say.
import { z } from 'zod';

export const OpenaiBatchKnobsSchema = z
  .object({
    /** Time from create to the last line finished; lines finish evenly over it, in input order. */
    jobMs: z.number().nonnegative().default(1000),
    /** Share of jobMs a job spends `validating` before `in_progress` (no line finishes while validating). */
    validatingShare: z.number().min(0).max(1).default(0.1),
    /** The job's window: past it the job is `expired`, the finished lines in its output file, the rest dropped. 0: none. */
    expireAfterMs: z.number().nonnegative().default(0),
    /** A cancel request leaves the job `cancelling` this long before `cancelled`. */
    cancellingMs: z.number().nonnegative().default(100),
    /** The first N lines of each prompt (over all jobs) fail with 429 rate_limit_exceeded in the error file. */
    rateLimitFirst: z.number().int().nonnegative().default(0),
    /** Lines the open jobs may hold at once (OpenAI's enqueued limit); a create over it fails the job at once. 0: none. */
    queueLimit: z.number().int().nonnegative().default(0),
    /** A create over queueLimit answers `validating` and fails in validation, as OpenAI's jobs do, not at once. */
    queueRefusedInValidation: z.boolean().default(false),
    /** The answer to a create comes this long after the job was made: a test kills the worker in between. */
    createAnswerDelayMs: z.number().nonnegative().default(0),
    /** Output lines in a random order, as OpenAI says may happen. */
    shuffle: z.boolean().default(true),
  })
  .strict();

export type OpenaiBatchKnobs = z.infer<typeof OpenaiBatchKnobsSchema>;

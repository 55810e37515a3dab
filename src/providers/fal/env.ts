// fal's environment variables, spelled once: its client reads them, and every message that names them.
export const FAL_ENV = {
  /** Overrides the queue URL (`--endpoint` sets it). */
  endpoint: 'FAL_QUEUE_URL',
  /** What a worker needs to serve fal, by the client option each sets. */
  credentials: { apiKey: 'FAL_KEY' },
} as const;

// The OpenAI-compatible API's environment variables, spelled once: its client reads them, and every message that
// names them.
export const OPENAI_ENV = {
  /** Overrides the base URL (`--endpoint` sets it). */
  endpoint: 'OPENAI_BASE_URL',
  /** What a worker needs to serve OpenAI, by the client option each sets. */
  credentials: { apiKey: 'OPENAI_API_KEY' },
} as const;

// DashScope's environment variables, spelled once: its client reads them, and every message that names them.
export const DASHSCOPE_ENV = {
  /** Overrides the base URL (`--endpoint` sets it). */
  endpoint: 'DASHSCOPE_HTTP_BASE_URL',
  /** What a worker needs to serve DashScope, by the client option each sets. */
  credentials: { apiKey: 'DASHSCOPE_API_KEY' },
} as const;

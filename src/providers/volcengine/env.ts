// Volcengine's environment variables, spelled once: its client reads them, and every message that names them.
export const VOLCENGINE_ENV = {
  /** Overrides the endpoint (`--endpoint` sets it). */
  endpoint: 'VOLCENGINE_VISUAL_ENDPOINT',
  /** What a worker needs to serve Volcengine, by the client option each sets. */
  credentials: { accessKeyId: 'VOLC_ACCESSKEY', secretAccessKey: 'VOLC_SECRETKEY' },
} as const;

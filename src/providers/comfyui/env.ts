// ComfyUI's environment variable, spelled once: its client reads it, and every message that names it.
export const COMFYUI_ENV = {
  /** The server's URL (`--endpoint` sets it). */
  endpoint: 'COMFYUI_URL',
  /**
   * ComfyUI has no key: a self-hosted server is only served by a worker told where it is, never guessed at
   * localhost, so its URL is what a worker needs.
   */
  credentials: { baseUrl: 'COMFYUI_URL' },
} as const;

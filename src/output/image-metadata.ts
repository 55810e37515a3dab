// What an image file says about how it was made: the Automatic1111 `parameters` text that image browsers read, and
// imagebatch's own JSON (in a PNG chunk, or in a sidecar `<file>.json` beside a JPEG or WebP).
import type { ImageMetadata } from '../shared/types';

/** The workflow's ImageMetadata plus what only the activity knows: which provider, model and task made the image. */
export interface EmbeddedMetadata extends ImageMetadata {
  provider?: string;
  model?: string;
  taskId?: string;
}

/** The keywords of the two text chunks imagebatch writes. */
export const PARAMETERS_KEY = 'parameters';
export const IMAGEBATCH_KEY = 'imagebatch';

/** Quoted as Automatic1111 quotes a value that would break its `Key: value, ...` line. */
function quote(value: string): string {
  return /[,:\n]/.test(value) ? JSON.stringify(value) : value;
}

/**
 * The Automatic1111 convention: the prompt; `Negative prompt: ...` when there is one; then one line of the
 * settings that are known (`Seed: N, Size: WxH, Model: m, Provider: p`).
 */
export function parametersText(meta: EmbeddedMetadata): string {
  const lines = [meta.prompt];
  if (meta.negativePrompt) lines.push(`Negative prompt: ${meta.negativePrompt}`);
  const parts: string[] = [];
  if (meta.seed !== undefined) parts.push(`Seed: ${meta.seed}`);
  if (meta.width && meta.height) parts.push(`Size: ${meta.width}x${meta.height}`);
  if (meta.model) parts.push(`Model: ${quote(meta.model)}`);
  if (meta.provider) parts.push(`Provider: ${quote(meta.provider)}`);
  if (parts.length) lines.push(parts.join(', '));
  return lines.join('\n');
}

/** imagebatch's JSON, in a fixed key order so two files of the same request read alike. */
export function metadataJson(meta: EmbeddedMetadata): string {
  const ordered = {
    prompt: meta.prompt,
    negativePrompt: meta.negativePrompt,
    prompts: meta.prompts,
    seed: meta.seed,
    width: meta.width,
    height: meta.height,
    provider: meta.provider,
    model: meta.model,
    taskId: meta.taskId,
    batchId: meta.batchId,
    itemId: meta.itemId,
  };
  return JSON.stringify(ordered);
}

/** The sidecar's text: the same JSON as the PNG chunk, indented for people who open it. */
export function sidecarText(meta: EmbeddedMetadata): string {
  return JSON.stringify(JSON.parse(metadataJson(meta)), null, 2) + '\n';
}

/** The workflow's metadata (absent in histories from before it existed) plus which provider, model and task made it. */
export function withSource(
  meta: ImageMetadata | undefined,
  source: { provider: string; model?: string; taskId?: string },
): EmbeddedMetadata | undefined {
  return meta && { ...meta, provider: source.provider, model: source.model, taskId: source.taskId };
}

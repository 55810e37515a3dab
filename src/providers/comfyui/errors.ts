// ComfyUI's answers to provider error classes. It has no auth, limits or moderation of its own; a proxy in front of
// it may add the first two, which the plain HTTP statuses cover. A graph it refuses is the item's mistake.
import { type HttpJsonResponse } from '../http';
import { isSuccess, notJsonObject, statusError } from '../http-errors';
import { type ProviderError, taskFailed } from '../types';

interface NodeError {
  class_type?: string;
  errors?: { type?: string; message?: string; details?: string }[];
}

interface RefusedPrompt {
  error?: string | { type?: string; message?: string; details?: string };
  node_errors?: Record<string, NodeError>;
}

/** `POST /prompt` answers 400 with what is wrong with the graph, node by node. */
function describeRefusal(b: RefusedPrompt): { message: string; code?: string } {
  const e = typeof b.error === 'string' ? { message: b.error } : (b.error ?? {});
  const nodes = Object.entries(b.node_errors ?? {}).flatMap(([id, n]) =>
    (n.errors ?? []).map((x) => `node ${id} (${n.class_type ?? '?'}): ${x.message ?? x.type}: ${x.details ?? ''}`),
  );
  return { message: [e.message ?? 'error', ...nodes].join('; '), code: e.type };
}

/** The error in an answer, or undefined for a 2xx JSON object. */
export function comfyuiHttpError(res: HttpJsonResponse): ProviderError | undefined {
  if (isSuccess(res)) return notJsonObject(res);
  const b = res.json as RefusedPrompt | undefined;
  if (b && typeof b === 'object' && (b.error || b.node_errors)) {
    const { message, code } = describeRefusal(b);
    return statusError(res, `HTTP ${res.status}: ${message}`, code);
  }
  return statusError(res);
}

type HistoryMessage = [string, Record<string, unknown>];

/** A prompt whose run ended in error (or was interrupted): the last such message in its history says why. */
export function historyError(promptId: string, messages: HistoryMessage[] = []): ProviderError {
  const last = [...messages]
    .reverse()
    .find(([event]) => event === 'execution_error' || event === 'execution_interrupted');
  if (!last) return taskFailed(`prompt ${promptId} ended in error`);
  const [event, m] = last;
  const where = `${String(m.node_type ?? '?')} (node ${String(m.node_id ?? '?')})`;
  if (event === 'execution_interrupted') return taskFailed(`prompt ${promptId} was interrupted at ${where}`);
  return taskFailed(
    `prompt ${promptId} failed at ${where}: ${String(m.exception_type ?? '')}: ${String(m.exception_message ?? '')}`,
    {
      code: typeof m.exception_type === 'string' ? m.exception_type : undefined,
    },
  );
}

// OpenAI's Batch API (Files and Batches endpoints): upload a JSONL file, create a job over it, find a job or file an
// earlier attempt made (by the job's metadata key, the file's name), poll, cancel, and read a result file line by line.
import { FormData, request } from 'undici';
import { type AccountIdentity, credentialFingerprint } from '../account';
import { httpJson, redact } from '../http';
import { authFailed, transient } from '../types';
import { OPENAI_ENV } from './env';
import { openaiHttpError } from './errors';
import { OPENAI_DEFAULT_BASE_URL, type OpenaiOptions } from './client';
import { BATCH_ENDPOINT } from './batch-lines';
import { type BatchLineResult, jsonlLines, parseResultLine } from './batch-results';
import { refusedForQueue } from '../../shared/batch-api';

/** The metadata key a job carries so a retried create finds it instead of making a second one. */
export const JOB_KEY = 'imagebatch_key';

export type BatchJobStatus =
  'validating' | 'in_progress' | 'finalizing' | 'completed' | 'failed' | 'expired' | 'cancelling' | 'cancelled';

export interface BatchJob {
  id: string;
  status: BatchJobStatus;
  inputFileId: string;
  outputFileId?: string;
  errorFileId?: string;
  counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string>;
  createdAt: number;
  /** Why a job failed as a whole (a refused file, the enqueued limit): OpenAI's `errors.data`. */
  errors: { code: string; message: string; line?: number }[];
}

export interface BatchFile {
  id: string;
  filename: string;
  createdAt: number;
}

interface JobWire {
  id: string;
  status: BatchJobStatus;
  input_file_id: string;
  output_file_id?: string | null;
  error_file_id?: string | null;
  request_counts?: { total?: number; completed?: number; failed?: number } | null;
  metadata?: Record<string, string> | null;
  created_at?: number;
  errors?: { data?: { code?: string; message?: string; line?: number | null }[] } | null;
}

interface ListWire<T> {
  data?: T[];
  has_more?: boolean;
  last_id?: string | null;
}

function jobOf(w: JobWire): BatchJob {
  const c = w.request_counts ?? {};
  return {
    id: w.id,
    status: w.status,
    inputFileId: w.input_file_id,
    ...(w.output_file_id ? { outputFileId: w.output_file_id } : {}),
    ...(w.error_file_id ? { errorFileId: w.error_file_id } : {}),
    counts: { total: c.total ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 },
    metadata: w.metadata ?? {},
    createdAt: w.created_at ?? 0,
    errors: (w.errors?.data ?? []).map((e) => ({
      code: e.code ?? 'error',
      message: e.message ?? '',
      ...(typeof e.line === 'number' ? { line: e.line } : {}),
    })),
  };
}

/** An answer's body as JSON, or undefined when it is not (an error page, a cut body). */
function parsedOrUndefined(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

export class OpenaiBatchClient {
  private readonly base: string;

  constructor(private readonly o: OpenaiOptions) {
    this.base = (o.baseUrl ?? OPENAI_DEFAULT_BASE_URL).replace(/\/+$/, '');
  }

  account(): AccountIdentity {
    return { endpoint: this.base, fingerprint: credentialFingerprint(this.o.apiKey) };
  }

  private headers(): Record<string, string> {
    if (!this.o.apiKey) throw authFailed(`${OPENAI_ENV.credentials.apiKey} is not set`);
    return { Authorization: `Bearer ${this.o.apiKey}` };
  }

  private async json<T>(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await httpJson(`${this.base}${path}`, {
      method,
      headers: { ...this.headers(), ...(body ? { 'Content-Type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      timeoutMs: this.o.timeoutMs ?? 60_000,
      signal,
    });
    const err = openaiHttpError(res);
    if (err) throw err;
    return res.json as T;
  }

  /** Uploads the JSONL text as a `purpose=batch` file under that name. */
  async upload(filename: string, text: string, signal?: AbortSignal): Promise<BatchFile> {
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([text], { type: 'application/jsonl' }), filename);
    const url = `${this.base}/files`;
    let res;
    try {
      res = await request(url, { method: 'POST', headers: this.headers(), body: form, signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw transient(`POST ${redact(url)}: ${(err as Error).message}`);
    }
    const raw = await res.body.text();
    const json = parsedOrUndefined(raw);
    const err = openaiHttpError({ status: res.statusCode, headers: res.headers, json, text: raw });
    if (err) throw err;
    const f = json as { id: string; filename: string; created_at: number };
    return { id: f.id, filename: f.filename, createdAt: f.created_at };
  }

  /** The newest batch file of that name an earlier attempt uploaded, if any. */
  async findFile(filename: string, signal?: AbortSignal): Promise<BatchFile | undefined> {
    for await (const f of this.pages<{ id: string; filename: string; created_at: number }>(
      '/files?purpose=batch',
      signal,
    ))
      if (f.filename === filename) return { id: f.id, filename: f.filename, createdAt: f.created_at };
    return undefined;
  }

  async create(inputFileId: string, metadata: Record<string, string>, signal?: AbortSignal): Promise<BatchJob> {
    const body = { input_file_id: inputFileId, endpoint: BATCH_ENDPOINT, completion_window: '24h', metadata };
    return jobOf(await this.json<JobWire>('POST', '/batches', body, signal));
  }

  /**
   * The job an earlier attempt created with this key, if any; refused ones (enqueued limit) are not it. The list is
   * newest first: a job older than its input file cannot be over it, so the search stops there.
   */
  async findJob(key: string, notBefore: number, signal?: AbortSignal): Promise<BatchJob | undefined> {
    for await (const w of this.pages<JobWire>('/batches', signal)) {
      if (w.metadata?.[JOB_KEY] === key && !refusedForQueue(jobOf(w))) return jobOf(w);
      if ((w.created_at ?? 0) < notBefore) return undefined;
    }
    return undefined;
  }

  async get(id: string, signal?: AbortSignal): Promise<BatchJob> {
    return jobOf(await this.json<JobWire>('GET', `/batches/${encodeURIComponent(id)}`, undefined, signal));
  }

  async cancel(id: string, signal?: AbortSignal): Promise<BatchJob> {
    return jobOf(await this.json<JobWire>('POST', `/batches/${encodeURIComponent(id)}/cancel`, undefined, signal));
  }

  /** A list endpoint's items, page by page (100 at a time, `after` the last). */
  private async *pages<T extends { id: string }>(path: string, signal?: AbortSignal): AsyncGenerator<T> {
    let after: string | undefined;
    for (;;) {
      const sep = path.includes('?') ? '&' : '?';
      const q = `${path}${sep}limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`;
      const page = await this.json<ListWire<T>>('GET', q, undefined, signal);
      const data = page.data ?? [];
      yield* data;
      if (!page.has_more || !data.length) return;
      after = page.last_id ?? data.at(-1)!.id;
    }
  }

  /** A result file's lines as they arrive, classified; the file is never held whole (it can be gigabytes). */
  async *results(fileId: string, signal?: AbortSignal): AsyncGenerator<BatchLineResult> {
    const url = `${this.base}/files/${encodeURIComponent(fileId)}/content`;
    let res;
    try {
      res = await request(url, { method: 'GET', headers: this.headers(), signal, bodyTimeout: 5 * 60_000 });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw transient(`GET ${redact(url)}: ${(err as Error).message}`);
    }
    if (res.statusCode !== 200) {
      const raw = await res.body.text();
      const json = parsedOrUndefined(raw);
      throw openaiHttpError({ status: res.statusCode, headers: res.headers, json, text: raw }) ?? transient(raw);
    }
    try {
      for await (const text of jsonlLines(res.body)) {
        const r = parseResultLine(text);
        if (r) yield r;
      }
    } catch (err) {
      if (signal?.aborted) throw err;
      throw transient(`GET ${redact(url)}: body: ${(err as Error).message}`);
    } finally {
      res.body.destroy();
    }
  }
}

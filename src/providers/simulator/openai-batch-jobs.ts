// The simulated OpenAI Batch API's state: uploaded files and batch jobs, whose status and lines follow from the clock
// and the knobs the job was created under. Output and error files are made when a job ends and read as streams.
import { randomBytes } from 'node:crypto';
import type { OpenaiBatchKnobs } from './openai-batch-knobs';
import { renderPng } from './png';
import { seededRandom } from './random';
import type { Simulation } from './simulation';

export interface SimFile {
  id: string;
  filename: string;
  purpose: string;
  createdAt: number;
  bytes: number;
  /** An uploaded file's text, or an output file's lines made as they are read. */
  lines: () => Iterable<string>;
}

interface JobLine {
  customId: string;
  prompt: string;
  model: string;
  width: number;
  height: number;
  /** What the line answers once it has run. */
  outcome: 'image' | 'moderated' | 'rate-limited' | 'invalid';
  invalidMessage?: string;
}

export interface SimJob {
  id: string;
  inputFileId: string;
  endpoint: string;
  metadata: Record<string, string>;
  createdAt: number;
  knobs: OpenaiBatchKnobs;
  lines: JobLine[];
  /** Refused at create (a malformed file, the enqueued limit): `failed` at once, nothing run, nothing billed. */
  refused?: { code: string; message: string; line?: number };
  cancelRequestedAt?: number;
  /** Set by finishNow: every line finished by then. */
  endsAt?: number;
  outputFileId?: string | null;
  errorFileId?: string | null;
  seed: number;
}

export type JobStatus =
  'validating' | 'in_progress' | 'finalizing' | 'completed' | 'failed' | 'expired' | 'cancelling' | 'cancelled';

const TERMINAL = new Set<JobStatus>(['completed', 'failed', 'expired', 'cancelled']);
export const isTerminal = (s: JobStatus) => TERMINAL.has(s);

const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;
const seconds = (ms: number | undefined) => (ms === undefined ? null : Math.floor(ms / 1000));

export class BatchJobs {
  readonly files = new Map<string, SimFile>();
  readonly jobs = new Map<string, SimJob>();
  /** Lines run per prompt and per custom_id over every job created (refused ones excepted): tests' "every line once". */
  readonly linesByPrompt: Record<string, number> = {};
  readonly linesByCustomId: Record<string, number> = {};
  creates = 0;
  refusedCreates = 0;
  private seq = 0;

  constructor(private readonly sim: Simulation) {}

  /** How long the answer to a create is held back (the job exists already). */
  createAnswerDelayMs(): number {
    return this.sim.knobs.openaiBatch.createAnswerDelayMs;
  }

  addFile(filename: string, purpose: string, data: Buffer): SimFile {
    const text = data.toString('utf8');
    const file: SimFile = {
      id: newId('file'),
      filename,
      purpose,
      createdAt: Date.now(),
      bytes: data.length,
      lines: () => text.split('\n').filter((l) => l.trim() !== ''),
    };
    this.files.set(file.id, file);
    return file;
  }

  create(inputFileId: string, endpoint: string, metadata: Record<string, string>): SimJob {
    const knobs = this.sim.knobs.openaiBatch;
    const job: SimJob = {
      id: newId('batch'),
      inputFileId,
      endpoint,
      metadata,
      createdAt: Date.now(),
      knobs: { ...knobs },
      lines: [],
      seed: this.sim.knobs.randomSeed + ++this.seq,
    };
    this.jobs.set(job.id, job);
    this.creates++;
    const parsed = this.parseLines(this.files.get(inputFileId)!, endpoint);
    if ('code' in parsed) job.refused = parsed;
    else if (knobs.queueLimit > 0 && this.enqueuedLines() + parsed.length > knobs.queueLimit)
      job.refused = {
        code: 'token_limit_exceeded',
        message: `Enqueued limit reached for ${parsed[0]?.model ?? 'the model'}: ${knobs.queueLimit} requests. Please try submitting an equivalent batch later.`,
      };
    if (job.refused || 'code' in parsed) {
      this.refusedCreates++;
      return job;
    }
    for (const line of parsed) {
      const nth = this.linesByPrompt[line.prompt] ?? 0;
      this.linesByPrompt[line.prompt] = nth + 1;
      this.linesByCustomId[line.customId] = (this.linesByCustomId[line.customId] ?? 0) + 1;
      if (line.outcome === 'image' && nth < knobs.rateLimitFirst) line.outcome = 'rate-limited';
    }
    job.lines = parsed;
    return job;
  }

  /** Lines of the jobs not yet ended. */
  private enqueuedLines(now = Date.now()): number {
    let n = 0;
    for (const j of this.jobs.values()) if (!isTerminal(this.status(j, now))) n += j.lines.length;
    return n;
  }

  private parseLines(file: SimFile, endpoint: string): JobLine[] | { code: string; message: string; line?: number } {
    const out: JobLine[] = [];
    const seen = new Set<string>();
    let i = 0;
    for (const text of file.lines()) {
      i++;
      let l: { custom_id?: unknown; method?: unknown; url?: unknown; body?: Record<string, unknown> };
      try {
        l = JSON.parse(text) as typeof l;
      } catch {
        return { code: 'invalid_json_line', message: `line ${i} is not JSON`, line: i };
      }
      if (typeof l.custom_id !== 'string' || !l.custom_id || l.custom_id.length > 64)
        return { code: 'invalid_custom_id', message: 'custom_id must be a string of 1 to 64 characters', line: i };
      if (seen.has(l.custom_id))
        return { code: 'duplicate_custom_id', message: `custom_id ${l.custom_id} is repeated`, line: i };
      seen.add(l.custom_id);
      if (l.method !== 'POST' || l.url !== endpoint)
        return { code: 'invalid_url', message: `line ${i}: method must be POST and url ${endpoint}`, line: i };
      const body = l.body ?? {};
      const model = typeof body.model === 'string' ? body.model : '';
      if (out.length && out[0].model !== model)
        return { code: 'mismatched_model', message: 'every line of a file must name the same model', line: i };
      const size = typeof body.size === 'string' ? /^(\d+)x(\d+)$/.exec(body.size) : null;
      const prompt = typeof body.prompt === 'string' ? body.prompt : '';
      const line: JobLine = {
        customId: l.custom_id,
        prompt,
        model,
        width: size ? Number(size[1]) : 1024,
        height: size ? Number(size[2]) : 1024,
        outcome: 'image',
      };
      if (!prompt) Object.assign(line, { outcome: 'invalid', invalidMessage: 'prompt is required' });
      else if (body.size !== undefined && body.size !== 'auto' && !size)
        Object.assign(line, { outcome: 'invalid', invalidMessage: `Invalid size '${String(body.size)}'` });
      else if (this.moderated(prompt)) line.outcome = 'moderated';
      out.push(line);
    }
    if (!out.length) return { code: 'empty_file', message: 'the input file has no lines' };
    if (out.length > 50_000) return { code: 'too_many_requests', message: 'at most 50,000 requests per batch' };
    return out;
  }

  private moderated(prompt: string): boolean {
    const p = prompt.toLowerCase();
    return this.sim.knobs.moderationWords.some((w) => p.includes(w.toLowerCase()));
  }

  /** When the job's lines start running, and when its last finishes. */
  private span(j: SimJob): { start: number; end: number } {
    const start = j.createdAt + j.knobs.jobMs * j.knobs.validatingShare;
    const end = j.endsAt ?? j.createdAt + j.knobs.jobMs;
    return { start: Math.min(start, end), end };
  }

  /** When line i finishes: evenly over the running time, in input order. */
  private lineDoneAt(j: SimJob, i: number): number {
    const { start, end } = this.span(j);
    return start + ((end - start) * (i + 1)) / j.lines.length;
  }

  private expiresAt(j: SimJob): number | undefined {
    return j.knobs.expireAfterMs > 0 ? j.createdAt + j.knobs.expireAfterMs : undefined;
  }

  /** The moment the job stopped running lines (cancel, expiry, completion), or undefined while it runs. */
  private stoppedAt(j: SimJob, now: number): number | undefined {
    const ends = [this.span(j).end, j.cancelRequestedAt, this.expiresAt(j)].filter((t) => t !== undefined);
    const first = Math.min(...ends);
    return now >= first ? first : undefined;
  }

  status(j: SimJob, now = Date.now()): JobStatus {
    if (j.refused) return j.knobs.queueRefusedInValidation && now < this.span(j).start ? 'validating' : 'failed';
    const stopped = this.stoppedAt(j, now);
    if (stopped === undefined) return now < this.span(j).start ? 'validating' : 'in_progress';
    if (j.cancelRequestedAt !== undefined && stopped === j.cancelRequestedAt)
      return now < j.cancelRequestedAt + j.knobs.cancellingMs ? 'cancelling' : 'cancelled';
    const exp = this.expiresAt(j);
    if (exp !== undefined && stopped === exp && exp < this.span(j).end) return 'expired';
    return 'completed';
  }

  cancel(j: SimJob, now = Date.now()): void {
    if (!isTerminal(this.status(j, now)) && j.cancelRequestedAt === undefined) j.cancelRequestedAt = now;
  }

  /** Every open job's lines finish now (a test's shortcut past a long job). Returns how many jobs. */
  finishNow(now = Date.now()): number {
    let n = 0;
    for (const j of this.jobs.values())
      if (!isTerminal(this.status(j, now)) && j.cancelRequestedAt === undefined) {
        j.endsAt = now;
        n++;
      }
    return n;
  }

  private finishedLines(j: SimJob, now: number): number {
    const until = this.stoppedAt(j, now) ?? now;
    let n = 0;
    for (let i = 0; i < j.lines.length; i++) if (this.lineDoneAt(j, i) <= until) n++;
    return n;
  }

  /** The batch object as GET /v1/batches/{id} answers it. */
  view(j: SimJob, now = Date.now()): { id: string } & Record<string, unknown> {
    const status = this.status(j, now);
    const done = this.finishedLines(j, now);
    let failed = 0;
    for (let i = 0; i < done; i++) if (j.lines[i].outcome !== 'image') failed++;
    if (isTerminal(status) && j.outputFileId === undefined) this.makeResultFiles(j, done);
    const stoppedAt = this.stoppedAt(j, now);
    return {
      id: j.id,
      object: 'batch',
      endpoint: j.endpoint,
      errors: j.refused
        ? {
            object: 'list',
            data: [{ code: j.refused.code, message: j.refused.message, param: null, line: j.refused.line ?? null }],
          }
        : null,
      input_file_id: j.inputFileId,
      completion_window: '24h',
      status,
      output_file_id: j.outputFileId ?? null,
      error_file_id: j.errorFileId ?? null,
      created_at: seconds(j.createdAt),
      in_progress_at: j.refused || now < this.span(j).start ? null : seconds(this.span(j).start),
      expires_at: seconds(j.createdAt + 24 * 3600_000),
      finalizing_at: status === 'completed' ? seconds(stoppedAt) : null,
      completed_at: status === 'completed' ? seconds(stoppedAt) : null,
      failed_at: j.refused ? seconds(j.createdAt) : null,
      expired_at: status === 'expired' ? seconds(stoppedAt) : null,
      cancelling_at: seconds(j.cancelRequestedAt),
      cancelled_at: status === 'cancelled' ? seconds((j.cancelRequestedAt ?? 0) + j.knobs.cancellingMs) : null,
      request_counts: { total: j.lines.length, completed: done - failed, failed },
      metadata: j.metadata,
    };
  }

  /** The output file (2xx lines) and error file (the rest, and lines dropped by expiry or cancel), once ended. */
  private makeResultFiles(j: SimJob, done: number): void {
    const ok: number[] = [];
    const bad: number[] = [];
    j.lines.forEach((l, i) => (i < done && l.outcome === 'image' ? ok : bad).push(i));
    if (j.knobs.shuffle) shuffle(ok, seededRandom(j.seed));
    const status = this.status(j);
    const dropped = status === 'expired' ? 'batch_expired' : 'batch_cancelled';
    const file = (kind: string, indices: number[], render: (i: number) => string) => {
      if (!indices.length) return null;
      const f: SimFile = {
        id: newId('file'),
        filename: `${j.id}_${kind}.jsonl`,
        purpose: 'batch_output',
        createdAt: Date.now(),
        bytes: 0,
        lines: function* () {
          for (const i of indices) yield render(i);
        },
      };
      this.files.set(f.id, f);
      return f.id;
    };
    j.outputFileId = file('output', ok, (i) => this.okLine(j, i));
    j.errorFileId = file('error', bad, (i) => this.badLine(j, i, i < done ? undefined : dropped));
  }

  private okLine(j: SimJob, i: number): string {
    const l = j.lines[i];
    const b64 = renderPng(l.prompt, 0, l.width, l.height).toString('base64');
    const body = { created: seconds(j.createdAt), data: [{ b64_json: b64 }], usage: { generated_images: 1 } };
    return JSON.stringify({
      id: `batch_req_${j.id}_${i}`,
      custom_id: l.customId,
      response: { status_code: 200, request_id: `req_${i}`, body },
      error: null,
    });
  }

  private badLine(j: SimJob, i: number, dropped?: string): string {
    const l = j.lines[i];
    const id = `batch_req_${j.id}_${i}`;
    if (dropped) {
      const message =
        dropped === 'batch_expired'
          ? 'This request could not be executed before the completion window expired.'
          : 'This request was not executed because the batch was cancelled.';
      return JSON.stringify({ id, custom_id: l.customId, response: null, error: { code: dropped, message } });
    }
    const [status, error] = LINE_ERRORS[l.outcome as Exclude<JobLine['outcome'], 'image'>](l);
    return JSON.stringify({
      id,
      custom_id: l.customId,
      response: { status_code: status, request_id: `req_${i}`, body: { error } },
      error: null,
    });
  }
}

const LINE_ERRORS: Record<'moderated' | 'rate-limited' | 'invalid', (l: JobLine) => [number, unknown]> = {
  moderated: () => [
    400,
    {
      code: 'moderation_blocked',
      type: 'image_generation_user_error',
      message: 'Your request was rejected as a result of our safety system.',
      param: null,
    },
  ],
  'rate-limited': () => [
    429,
    {
      code: 'rate_limit_exceeded',
      type: 'requests',
      message: 'Rate limit reached for images per minute.',
      param: null,
    },
  ],
  invalid: (l) => [
    400,
    { code: 'invalid_value', type: 'invalid_request_error', message: l.invalidMessage ?? 'invalid', param: null },
  ],
};

function shuffle<T>(a: T[], rnd: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const k = Math.floor(rnd() * (i + 1));
    [a[i], a[k]] = [a[k], a[i]];
  }
}

const stores = new WeakMap<Simulation, BatchJobs>();

/** The simulation's Batch API state (made on first use; forgotten by resetBatchJobs). */
export function batchJobsOf(sim: Simulation): BatchJobs {
  let s = stores.get(sim);
  if (!s) stores.set(sim, (s = new BatchJobs(sim)));
  return s;
}

export function resetBatchJobs(sim: Simulation): void {
  stores.delete(sim);
}

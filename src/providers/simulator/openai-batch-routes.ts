// OpenAI's Files and Batches endpoints (the Batch API at half price): upload a JSONL file, create a job over it, poll
// it, list jobs (to find one by its metadata), cancel it, and read its output and error files as a stream. Control:
// GET /__openai-batches says what was run; POST /__openai-batches/finish ends every open job's lines now.
import type { ServerResponse } from 'node:http';
import { batchJobsOf, type BatchJobs, type SimFile } from './openai-batch-jobs';
import { send } from './replies';
import { jsonObject, type Route } from './wire';

const ENDPOINTS = new Set(['/v1/images/generations', '/v1/images/edits']);

const error = (status: number, code: string, message: string, param: string | null = null) =>
  [status, { error: { code, type: 'invalid_request_error', message, param } }] as const;

const fileView = (f: SimFile) => ({
  id: f.id,
  object: 'file',
  bytes: f.bytes,
  created_at: Math.floor(f.createdAt / 1000),
  filename: f.filename,
  purpose: f.purpose,
  status: 'processed',
});

/** `?after=ID&limit=N` over items newest first, as OpenAI's list endpoints page. */
function page<T extends { id: string }>(all: T[], url: URL) {
  const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 20) || 20));
  const after = url.searchParams.get('after');
  const from = after ? all.findIndex((x) => x.id === after) + 1 : 0;
  const data = all.slice(from, from + limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: from + limit < all.length,
  };
}

export const routeOpenaiBatch: Route = async (sim, req, res, url, body) => {
  const path = url.pathname;
  const jobs = batchJobsOf(sim);
  if (path === '/__openai-batches' && req.method === 'GET') {
    send(res, 200, control(jobs));
    return true;
  }
  if (path === '/__openai-batches/finish' && req.method === 'POST') {
    send(res, 200, { finished: jobs.finishNow() });
    return true;
  }
  if (!path.startsWith('/v1/files') && !path.startsWith('/v1/batches')) return false;
  if (req.headers.authorization !== `Bearer ${sim.knobs.openaiKey}`) {
    sim.stats.request('auth-failed', 'openai');
    send(res, 401, error(401, 'invalid_api_key', 'Incorrect API key provided.')[1]);
    return true;
  }
  const [status, answer] = await handle(jobs, req.method ?? 'GET', url, body, String(req.headers['content-type']), res);
  if (status === 0) {
    // A result file, streamed.
    sim.stats.request('ok', 'openai');
    return true;
  }
  sim.stats.request(status < 300 ? 'ok' : 'bad-request', 'openai');
  send(res, status, answer);
  return true;
};

type Answer = readonly [number, unknown];

async function handle(
  jobs: BatchJobs,
  method: string,
  url: URL,
  body: Buffer,
  type: string,
  res: ServerResponse,
): Promise<Answer> {
  const path = url.pathname;
  if (path === '/v1/files' && method === 'POST') return upload(jobs, body, type);
  if (path === '/v1/files' && method === 'GET') {
    const purpose = url.searchParams.get('purpose');
    const all = [...jobs.files.values()].filter((f) => !purpose || f.purpose === purpose).reverse();
    return [200, page(all.map(fileView), url)];
  }
  const file = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path);
  if (file && method === 'GET') {
    const f = jobs.files.get(file[1]);
    if (!f) return error(404, 'not_found', `No such File object: ${file[1]}`);
    if (!file[2]) return [200, fileView(f)];
    await stream(res, f);
    return [0, null];
  }
  if (path === '/v1/batches' && method === 'POST') {
    const answer = create(jobs, body);
    const delay = jobs.createAnswerDelayMs();
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    return answer;
  }
  if (path === '/v1/batches' && method === 'GET') {
    const all = [...jobs.jobs.values()].reverse();
    return [
      200,
      page(
        all.map((j) => jobs.view(j)),
        url,
      ),
    ];
  }
  const batch = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path);
  if (batch && (method === 'GET' || (batch[2] && method === 'POST'))) {
    const j = jobs.jobs.get(batch[1]);
    if (!j) return error(404, 'not_found', `No batch found with id '${batch[1]}'.`);
    if (batch[2]) jobs.cancel(j);
    return [200, jobs.view(j)];
  }
  return error(404, 'not_found', `no such path: ${method} ${path}`);
}

async function upload(jobs: BatchJobs, body: Buffer, type: string): Promise<Answer> {
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(body), { headers: { 'content-type': type } }).formData();
  } catch {
    return error(400, 'invalid_request', 'expected a multipart/form-data body');
  }
  const purpose = form.get('purpose');
  const file = form.get('file');
  if (purpose !== 'batch') return error(400, 'invalid_value', "purpose must be 'batch'", 'purpose');
  if (!(file instanceof Blob)) return error(400, 'invalid_request', 'file is required', 'file');
  if (file.size > 200 * 1024 * 1024) return error(400, 'file_too_large', 'a batch file holds at most 200 MB', 'file');
  const name = file instanceof File ? file.name : 'upload.jsonl';
  return [200, fileView(jobs.addFile(name, purpose, Buffer.from(await file.arrayBuffer())))];
}

function create(jobs: BatchJobs, body: Buffer): Answer {
  const p = jsonObject(body);
  if (!p) return error(400, 'invalid_request', 'body must be a JSON object');
  if (typeof p.input_file_id !== 'string' || !jobs.files.has(p.input_file_id))
    return error(400, 'invalid_value', `No such File object: ${String(p.input_file_id)}`, 'input_file_id');
  if (typeof p.endpoint !== 'string' || !ENDPOINTS.has(p.endpoint))
    return error(400, 'invalid_value', 'endpoint must be /v1/images/generations or /v1/images/edits', 'endpoint');
  if (p.completion_window !== '24h')
    return error(400, 'invalid_value', "completion_window must be '24h'", 'completion_window');
  const metadata = (p.metadata ?? {}) as Record<string, unknown>;
  const entries = Object.entries(metadata);
  if (entries.length > 16 || entries.some(([k, v]) => k.length > 64 || typeof v !== 'string' || v.length > 512))
    return error(
      400,
      'invalid_value',
      'metadata: at most 16 pairs, keys up to 64 and values up to 512 characters',
      'metadata',
    );
  const job = jobs.create(p.input_file_id, p.endpoint, metadata as Record<string, string>);
  return [200, jobs.view(job)];
}

/** A file's lines as they are made, never the whole file in memory. */
async function stream(res: ServerResponse, f: SimFile): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/jsonl' });
  for (const line of f.lines()) {
    if (!res.write(`${line}\n`)) await new Promise((r) => res.once('drain', r));
    if (res.destroyed) return;
  }
  res.end();
}

function control(jobs: BatchJobs) {
  return {
    files: jobs.files.size,
    creates: jobs.creates,
    refusedCreates: jobs.refusedCreates,
    linesByPrompt: jobs.linesByPrompt,
    linesByCustomId: jobs.linesByCustomId,
    jobs: [...jobs.jobs.values()].map((j) => ({
      id: j.id,
      status: jobs.status(j),
      lines: j.lines.length,
      model: j.lines[0]?.model,
      metadata: j.metadata,
      ...(j.refused ? { refused: j.refused.code } : {}),
    })),
  };
}

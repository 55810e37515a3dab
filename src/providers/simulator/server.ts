// A provider simulator: a real HTTP server that speaks Volcengine Visual and DashScope at their real paths,
// checks their credentials, renders real PNGs, injects faults and counts what it saw (GET /__stats).
import { createHash, randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Knobs, type KnobsInput, KnobsSchema } from './knobs';
import { renderPng } from './png';
import { drawLatency, seededRandom } from './random';
import { verifyVolcSignature } from './volc-auth';

type Api = 'volcengine' | 'dashscope';
type Outcome = 'image' | 'expire' | 'moderated' | 'output-rejected';

interface SimTask {
  id: string;
  api: Api;
  prompt: string;
  seed: number;
  width: number;
  height: number;
  model: string;
  createdAt: number;
  generatingAt: number;
  readyAt: number;
  outcome: Outcome;
  cancelled: boolean;
}

export interface SimulatorStats {
  /** Tasks created (accepted submissions). */
  submissions: number;
  submissionsByPrompt: Record<string, number>;
  /** Submissions refused (moderation, limits, faults, auth). */
  refusedSubmissions: number;
  /** Unfinished, uncancelled tasks now, and the most seen at once. */
  inFlight: number;
  maxInFlight: number;
  cancels: number;
  cancelledTaskIds: string[];
  /** API requests by what the simulator did with them. */
  requestsByOutcome: Record<string, number>;
  /** sha256 of the image bytes served for each task. */
  served: Record<string, string>;
  /** Seeds of each prompt's submissions, in order. */
  seedsByPrompt: Record<string, number[]>;
  /** Submissions that carried reference images, and how many. */
  referenceImages: Record<string, number>;
}

const VOLC_ACTIONS = new Set(['CVSync2AsyncSubmitTask', 'CVSync2AsyncGetResult', 'CVCancelTask']);

export class ProviderSimulator {
  private knobs: Knobs;
  private rnd!: () => number;
  private tasks = new Map<string, SimTask>();
  private server?: http.Server;
  private nextId = 7392616336519610000n;
  private s!: SimulatorStats;
  url = '';

  constructor(knobs: KnobsInput = {}) {
    this.knobs = KnobsSchema.parse(knobs);
    this.reset();
  }

  /** Environment that points both provider clients at this simulator with its credentials. */
  env(): Record<string, string> {
    return {
      VOLCENGINE_VISUAL_ENDPOINT: this.url,
      VOLC_ACCESSKEY: this.knobs.volcAccessKey,
      VOLC_SECRETKEY: this.knobs.volcSecretKey,
      DASHSCOPE_HTTP_BASE_URL: `${this.url}/api/v1`,
      DASHSCOPE_API_KEY: this.knobs.dashscopeKey,
    };
  }

  setKnobs(partial: KnobsInput): Knobs {
    this.knobs = KnobsSchema.parse({ ...this.knobs, ...partial });
    return this.knobs;
  }

  getKnobs(): Knobs {
    return this.knobs;
  }

  /** Forgets tasks and counters and restarts the draws from the seed, so the next run draws what the last one did. */
  reset(): void {
    this.tasks.clear();
    this.rnd = seededRandom(this.knobs.randomSeed);
    this.s = {
      submissions: 0,
      submissionsByPrompt: {},
      refusedSubmissions: 0,
      inFlight: 0,
      maxInFlight: 0,
      cancels: 0,
      cancelledTaskIds: [],
      requestsByOutcome: {},
      served: {},
      seedsByPrompt: {},
      referenceImages: {},
    };
  }

  stats(): SimulatorStats {
    return structuredClone({ ...this.s, inFlight: this.activeTasks() });
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent) this.send(res, 500, { error: String(err) });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    const addr = this.server.address() as AddressInfo;
    this.url = `http://${host}:${addr.port}`;
    return this.url;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private count(outcome: string) {
    this.s.requestsByOutcome[outcome] = (this.s.requestsByOutcome[outcome] ?? 0) + 1;
  }

  private activeTasks(now = Date.now()): number {
    let n = 0;
    for (const t of this.tasks.values()) if (!t.cancelled && now < t.readyAt) n++;
    return n;
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname;

    if (path === '/__stats' && req.method === 'GET') return this.send(res, 200, this.stats());
    if (path === '/__knobs' && req.method === 'GET') return this.send(res, 200, this.knobs);
    if (path === '/__knobs' && req.method === 'POST') {
      const parsed = KnobsSchema.partial().safeParse(JSON.parse(body.toString() || '{}'));
      if (!parsed.success) return this.send(res, 400, { error: parsed.error.message });
      return this.send(res, 200, this.setKnobs(parsed.data));
    }
    if (path === '/__reset' && req.method === 'POST') {
      this.reset();
      return this.send(res, 200, { ok: true });
    }
    const img = /^\/images\/([^/]+)\/(\d+)\.png$/.exec(path);
    if (img && req.method === 'GET') {
      this.serveImage(res, img[1]);
      return;
    }

    const action = url.searchParams.get('Action');
    if (path === '/' && req.method === 'POST' && action && VOLC_ACTIONS.has(action)) {
      return this.volcengine(req, res, action, url.searchParams.get('Version') ?? '', body);
    }
    if (path === '/api/v1/services/aigc/text2image/image-synthesis' && req.method === 'POST') {
      return this.dashscope(req, res, 'create', body);
    }
    const dt = /^\/api\/v1\/tasks\/([^/]+)(\/cancel)?$/.exec(path);
    if (dt && (req.method === 'GET' || (dt[2] && req.method === 'POST'))) {
      return this.dashscope(req, res, dt[2] ? 'cancel' : 'status', body, decodeURIComponent(dt[1]));
    }
    this.count('unknown-path');
    this.send(res, 404, { error: `no such path: ${req.method} ${path}` });
  }

  /** A fault drawn for this request, if any; 'slow' only delays. Returns true when the response is taken. */
  private async fault(res: ServerResponse, api: Api, kind: 'submit' | 'status' | 'cancel'): Promise<boolean> {
    const k = this.knobs;
    if (k.faultsOn !== 'all' && k.faultsOn !== kind) return false;
    const u = this.rnd();
    let edge = 0;
    if (u < (edge += k.hang)) {
      this.count('hang');
      const timer = setTimeout(() => res.destroy(), k.hangMs);
      res.on('close', () => clearTimeout(timer));
      return true;
    }
    if (u < (edge += k.fail5xx)) {
      this.count('5xx');
      if (api === 'volcengine') this.send(res, 500, volcErr(50500, 'Internal Error'));
      else
        this.send(res, 500, {
          code: 'InternalError',
          message: 'An internal error has occured',
          request_id: randomUUID(),
        });
      return true;
    }
    if (u < (edge += k.fail429)) {
      this.count('429');
      if (api === 'volcengine') {
        const code = this.rnd() < 0.5 ? 50429 : 50430;
        const msg =
          code === 50429
            ? 'Request Has Reached API Limit, Please Try Later'
            : 'Request Has Reached API Concurrent Limit, Please Try Later';
        this.send(res, 429, volcErr(code, msg), { 'Retry-After': '1' });
      } else {
        this.send(
          res,
          429,
          {
            code: 'Throttling.RateQuota',
            message: 'Requests rate limit exceeded, please try again later.',
            request_id: randomUUID(),
          },
          { 'Retry-After': '1' },
        );
      }
      return true;
    }
    if (u < (edge += k.malformed)) {
      this.count('malformed');
      this.send(res, 200, '{"code":10000,"data":{"status":"do');
      return true;
    }
    if (u < edge + k.slow) {
      this.count('slow');
      await new Promise((r) => setTimeout(r, k.slowMs));
    }
    return false;
  }

  private moderated(prompt: string): boolean {
    const p = prompt.toLowerCase();
    return this.knobs.moderationWords.some((w) => p.includes(w.toLowerCase()));
  }

  /** Creates a task, or says why not. */
  private create(
    api: Api,
    t: Omit<SimTask, 'id' | 'createdAt' | 'generatingAt' | 'readyAt' | 'outcome' | 'cancelled'>,
  ): SimTask | 'moderated' | 'limited' {
    const k = this.knobs;
    if (this.moderated(t.prompt) && k.moderationAt === 'submit') return 'moderated';
    const now = Date.now();
    if (k.concurrencyLimit > 0 && this.activeTasks(now) >= k.concurrencyLimit) return 'limited';
    const latency = drawLatency(k.latencyMs, this.rnd);
    const nth = this.s.submissionsByPrompt[t.prompt] ?? 0;
    let outcome: Outcome = 'image';
    if (this.moderated(t.prompt)) outcome = 'moderated';
    else if (nth < k.expireFirst || this.rnd() < k.expire) outcome = 'expire';
    else if (api === 'volcengine' && (nth < k.outputRejectFirst || this.rnd() < k.outputReject))
      outcome = 'output-rejected';
    this.nextId += BigInt(1 + Math.floor(this.rnd() * 1000));
    const id = api === 'volcengine' ? this.nextId.toString() : randomUUID();
    const task: SimTask = {
      ...t,
      id,
      createdAt: now,
      generatingAt: now + latency * k.queueShare,
      readyAt: now + latency,
      outcome,
      cancelled: false,
    };
    this.tasks.set(id, task);
    this.s.submissions++;
    this.s.submissionsByPrompt[t.prompt] = nth + 1;
    (this.s.seedsByPrompt[t.prompt] ??= []).push(t.seed);
    this.s.maxInFlight = Math.max(this.s.maxInFlight, this.activeTasks(now));
    return task;
  }

  private phase(t: SimTask, now = Date.now()): 'queued' | 'generating' | 'finished' | 'cancelled' {
    if (t.cancelled) return 'cancelled';
    if (now < t.generatingAt) return 'queued';
    if (now < t.readyAt) return 'generating';
    return 'finished';
  }

  private cancel(t: SimTask) {
    if (!t.cancelled && Date.now() < t.readyAt) {
      t.cancelled = true;
      this.s.cancels++;
      this.s.cancelledTaskIds.push(t.id);
    }
  }

  private image(t: SimTask): Buffer {
    const png = renderPng(t.prompt, t.seed, t.width, t.height);
    this.s.served[t.id] = createHash('sha256').update(png).digest('hex');
    return png;
  }

  private serveImage(res: ServerResponse, taskId: string): void {
    const t = this.tasks.get(taskId);
    if (!t || this.phase(t) !== 'finished') {
      this.count('image-404');
      return this.send(res, 404, { error: 'no such image' });
    }
    const k = this.knobs;
    if (k.badImage > 0 && this.rnd() < k.badImage) {
      this.count(`bad-image-${k.badImageKind}`);
      const png = renderPng(t.prompt, t.seed, t.width, t.height);
      switch (k.badImageKind) {
        case 'not-found':
          return this.send(res, 404, { error: 'gone' });
        case 'redirect-non-http':
          res.writeHead(302, { Location: `file:///etc/passwd` });
          res.end();
          return;
        case 'wrong-magic':
          res.writeHead(200, { 'Content-Type': 'image/png' });
          res.end(Buffer.concat([Buffer.from('<html>not an image</html>'), png]));
          return;
        case 'truncated':
          res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': String(png.length) });
          res.write(png.subarray(0, png.length >> 1));
          res.destroy();
          return;
        case 'oversize': {
          res.writeHead(200, { 'Content-Type': 'image/png' });
          res.end(Buffer.concat([png, Buffer.alloc(64 * 1024 * 1024)]));
          return;
        }
      }
    }
    this.count('image');
    res.writeHead(200, { 'Content-Type': 'image/png' });
    res.end(this.image(t));
  }

  private imageUrl(t: SimTask) {
    return `${this.url}/images/${t.id}/0.png`;
  }

  // --- Volcengine Visual -------------------------------------------------------------------------------

  private async volcengine(req: IncomingMessage, res: ServerResponse, action: string, version: string, body: Buffer) {
    const auth = verifyVolcSignature('POST', req.url ?? '/', req.headers, body, {
      accessKey: this.knobs.volcAccessKey,
      secretKey: this.knobs.volcSecretKey,
    });
    if (!auth.ok) {
      this.count('auth-failed');
      if (action === 'CVSync2AsyncSubmitTask') this.s.refusedSubmissions++;
      return this.send(res, auth.status, {
        ResponseMetadata: {
          RequestId: randomUUID(),
          Action: action,
          Version: version,
          Service: 'cv',
          Region: 'cn-north-1',
          Error: { CodeN: auth.codeN, Code: auth.code, Message: auth.message },
        },
      });
    }
    const kind = action === 'CVSync2AsyncSubmitTask' ? 'submit' : action === 'CVCancelTask' ? 'cancel' : 'status';
    if (await this.fault(res, 'volcengine', kind)) {
      if (kind === 'submit') this.s.refusedSubmissions++;
      return;
    }
    let p: Record<string, unknown>;
    try {
      p = JSON.parse(body.toString('utf8'));
    } catch {
      this.count('bad-request');
      return this.send(res, 400, volcErr(50215, 'Input invalid: body is not JSON'));
    }
    if (typeof p.req_key !== 'string' || !p.req_key)
      return this.send(res, 400, volcErr(50215, 'Input invalid: req_key'));

    if (kind === 'submit') {
      if (typeof p.prompt !== 'string' || !p.prompt)
        return this.send(res, 400, volcErr(50215, 'Input invalid: prompt'));
      const refs = [p.binary_data_base64, p.image_urls].flatMap((r) => (Array.isArray(r) ? r : []));
      if (refs.length) this.s.referenceImages[p.prompt] = refs.length;
      const made = this.create('volcengine', {
        api: 'volcengine',
        prompt: p.prompt,
        seed: typeof p.seed === 'number' ? p.seed : -1,
        width: typeof p.width === 'number' ? p.width : 1024,
        height: typeof p.height === 'number' ? p.height : 1024,
        model: p.req_key,
      });
      if (made === 'moderated') {
        this.count('moderated');
        this.s.refusedSubmissions++;
        return this.send(res, 400, volcErr(50413, 'Post Text Risk Not Pass'));
      }
      if (made === 'limited') {
        this.count('concurrency-limited');
        this.s.refusedSubmissions++;
        return this.send(res, 429, volcErr(50430, 'Request Has Reached API Concurrent Limit, Please Try Later'));
      }
      this.count('ok');
      return this.send(res, 200, volcOk({ task_id: made.id }));
    }

    const t = this.tasks.get(String(p.task_id ?? ''));
    if (kind === 'cancel') {
      this.count('ok');
      if (t) this.cancel(t);
      return this.send(res, 200, volcOk(null));
    }
    if (!t || t.model !== p.req_key) {
      // Volcengine answers an unknown task (or one queried with another req_key) as not_found.
      this.count('not-found');
      return this.send(res, 200, volcOk({ status: 'not_found', binary_data_base64: null, image_urls: null }));
    }
    const phase = this.phase(t);
    this.count('ok');
    if (phase === 'cancelled')
      return this.send(res, 200, volcOk({ status: 'not_found', binary_data_base64: null, image_urls: null }));
    if (phase !== 'finished') {
      return this.send(
        res,
        200,
        volcOk({ status: phase === 'queued' ? 'in_queue' : 'generating', binary_data_base64: null, image_urls: null }),
      );
    }
    if (t.outcome === 'expire')
      return this.send(res, 200, volcOk({ status: 'expired', binary_data_base64: null, image_urls: null }));
    if (t.outcome === 'moderated') return this.send(res, 400, volcErr(50512, 'Post Text Risk Not Pass'));
    if (t.outcome === 'output-rejected') return this.send(res, 400, volcErr(50511, 'Post Img Risk Not Pass'));
    let returnUrl = this.knobs.volcengineImages === 'url';
    if (this.knobs.volcengineImages === 'auto') {
      try {
        returnUrl = Boolean(JSON.parse(String(p.req_json ?? '{}')).return_url);
      } catch {
        return this.send(res, 400, volcErr(50215, 'Input invalid: req_json'));
      }
    }
    if (returnUrl)
      return this.send(res, 200, volcOk({ status: 'done', binary_data_base64: null, image_urls: [this.imageUrl(t)] }));
    return this.send(
      res,
      200,
      volcOk({ status: 'done', binary_data_base64: [this.image(t).toString('base64')], image_urls: null }),
    );
  }

  // --- DashScope -----------------------------------------------------------------------------------------

  private async dashscope(
    req: IncomingMessage,
    res: ServerResponse,
    kind: 'create' | 'status' | 'cancel',
    body: Buffer,
    taskId?: string,
  ) {
    const rid = randomUUID();
    if (req.headers.authorization !== `Bearer ${this.knobs.dashscopeKey}`) {
      this.count('auth-failed');
      if (kind === 'create') this.s.refusedSubmissions++;
      return this.send(res, 401, { code: 'InvalidApiKey', message: 'Invalid API-key provided.', request_id: rid });
    }
    if (await this.fault(res, 'dashscope', kind === 'create' ? 'submit' : kind)) {
      if (kind === 'create') this.s.refusedSubmissions++;
      return;
    }
    if (kind === 'create') {
      if (req.headers['x-dashscope-async'] !== 'enable') {
        this.count('bad-request');
        return this.send(res, 403, {
          code: 'AccessDenied',
          message: 'current user api does not support synchronous calls',
          request_id: rid,
        });
      }
      let p: {
        model?: string;
        input?: { prompt?: string; ref_img?: string };
        parameters?: { size?: string; seed?: number; n?: number };
      };
      try {
        p = JSON.parse(body.toString('utf8'));
      } catch {
        return this.send(res, 400, { code: 'InvalidParameter', message: 'body is not JSON', request_id: rid });
      }
      const prompt = p.input?.prompt;
      if (!p.model || typeof prompt !== 'string' || !prompt) {
        return this.send(res, 400, {
          code: 'InvalidParameter',
          message: 'model and input.prompt are required',
          request_id: rid,
        });
      }
      const size = /^(\d+)\*(\d+)$/.exec(p.parameters?.size ?? '1024*1024');
      if (!size)
        return this.send(res, 400, {
          code: 'InvalidParameter',
          message: 'parameters.size must be W*H',
          request_id: rid,
        });
      if (p.input?.ref_img) this.s.referenceImages[prompt] = 1;
      const made = this.create('dashscope', {
        api: 'dashscope',
        prompt,
        seed: p.parameters?.seed ?? 0,
        width: Number(size[1]),
        height: Number(size[2]),
        model: p.model,
      });
      if (made === 'moderated') {
        this.count('moderated');
        this.s.refusedSubmissions++;
        return this.send(res, 400, {
          code: 'DataInspectionFailed',
          message: 'Input data may contain inappropriate content.',
          request_id: rid,
        });
      }
      if (made === 'limited') {
        this.count('concurrency-limited');
        this.s.refusedSubmissions++;
        return this.send(res, 429, {
          code: 'Throttling.RateQuota',
          message: 'Requests rate limit exceeded, please try again later.',
          request_id: rid,
        });
      }
      this.count('ok');
      return this.send(res, 200, { output: { task_status: 'PENDING', task_id: made.id }, request_id: rid });
    }
    const t = this.tasks.get(taskId ?? '');
    if (kind === 'cancel') {
      if (!t) return this.send(res, 404, { code: 'NotFound', message: 'task not found', request_id: rid });
      this.count('ok');
      this.cancel(t);
      return this.send(res, 200, { request_id: rid });
    }
    this.count(t ? 'ok' : 'not-found');
    const output: Record<string, unknown> = { task_id: taskId };
    if (!t) return this.send(res, 200, { request_id: rid, output: { ...output, task_status: 'UNKNOWN' } });
    const phase = this.phase(t);
    output.submit_time = new Date(t.createdAt).toISOString();
    if (phase === 'cancelled') output.task_status = 'CANCELED';
    else if (phase === 'queued') output.task_status = 'PENDING';
    else if (phase === 'generating') output.task_status = 'RUNNING';
    else if (t.outcome === 'expire') output.task_status = 'UNKNOWN';
    else if (t.outcome === 'moderated') {
      Object.assign(output, {
        task_status: 'FAILED',
        code: 'DataInspectionFailed',
        message: 'Output data may contain inappropriate content.',
      });
    } else {
      output.end_time = new Date(t.readyAt).toISOString();
      output.task_status = 'SUCCEEDED';
      output.results = [{ url: this.imageUrl(t), orig_prompt: t.prompt, actual_prompt: t.prompt }];
      output.task_metrics = { TOTAL: 1, SUCCEEDED: 1, FAILED: 0 };
    }
    return this.send(res, 200, {
      request_id: rid,
      output,
      usage: output.task_status === 'SUCCEEDED' ? { image_count: 1 } : undefined,
    });
  }
}

function volcOk(data: unknown) {
  return { code: 10000, data, message: 'Success', request_id: randomUUID(), status: 10000, time_elapsed: '1ms' };
}

function volcErr(code: number, message: string) {
  return { code, data: null, message, request_id: randomUUID(), status: code, time_elapsed: '1ms' };
}

export async function startSimulator(knobs: KnobsInput = {}, port = 0, host = '127.0.0.1'): Promise<ProviderSimulator> {
  const sim = new ProviderSimulator(knobs);
  await sim.listen(port, host);
  return sim;
}

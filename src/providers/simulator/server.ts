// A provider simulator: a real HTTP server that speaks every provider's wire format at its real paths,
// checks their credentials, renders real PNGs, injects faults and counts what it saw (GET /__stats).
// This file is the server and its /__ control endpoints; the wire routes and the task model live beside it.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleDashscope } from './dashscope-routes';
import { FAL_PREFIX } from './fal-routes';
import { serveImage } from './image-route';
import { type Knobs, type KnobsInput, KnobsSchema } from './knobs';
import { resetBatchJobs } from './openai-batch-jobs';
import { routeProviders } from './provider-routes';
import { send } from './replies';
import { Simulation } from './simulation';
import type { SimulatorStats } from './stats';
import { handleVolcengine, isVolcAction } from './volcengine-routes';

export type { SimulatorStats } from './stats';

export interface SimulatorOptions {
  /**
   * The base URL clients reach the simulator at, when it is not the address it listens on: listening on 0.0.0.0 in a
   * container, image links must name the service (`http://simulator:8787`) for a worker in another container.
   */
  publicUrl?: string;
}

export class ProviderSimulator {
  private readonly sim: Simulation;
  private server?: http.Server;
  /** Where it listens. */
  url = '';
  private readonly publicUrl?: string;

  constructor(knobs: KnobsInput = {}, options: SimulatorOptions = {}) {
    this.publicUrl = options.publicUrl?.replace(/\/+$/, '');
    this.sim = new Simulation(knobs, () => this.baseUrl);
  }

  /** The URL clients use: the public one when given, else where it listens. Image links point here. */
  get baseUrl(): string {
    return this.publicUrl ?? this.url;
  }

  /** Environment that points every provider client at this simulator with its credentials. */
  env(): Record<string, string> {
    const knobs = this.sim.knobs;
    return {
      VOLCENGINE_VISUAL_ENDPOINT: this.baseUrl,
      VOLC_ACCESSKEY: knobs.volcAccessKey,
      VOLC_SECRETKEY: knobs.volcSecretKey,
      DASHSCOPE_HTTP_BASE_URL: `${this.baseUrl}/api/v1`,
      DASHSCOPE_API_KEY: knobs.dashscopeKey,
      FAL_QUEUE_URL: `${this.baseUrl}${FAL_PREFIX}`,
      FAL_KEY: knobs.falKey,
      OPENAI_BASE_URL: `${this.baseUrl}/v1`,
      OPENAI_API_KEY: knobs.openaiKey,
      // ComfyUI has no key: its URL is what a worker needs.
      COMFYUI_URL: this.baseUrl,
    };
  }

  setKnobs(partial: KnobsInput): Knobs {
    return this.sim.setKnobs(partial);
  }

  getKnobs(): Knobs {
    return this.sim.knobs;
  }

  /** Forgets tasks and counters and restarts the draws from the seed, so the next run draws what the last one did. */
  reset(): void {
    this.sim.reset();
    resetBatchJobs(this.sim);
  }

  /** Tasks held by a long latency finish now (see Simulation.finishNow); returns how many. */
  finishNow(): number {
    return this.sim.finishNow();
  }

  stats(): SimulatorStats {
    return this.sim.stats.snapshot(this.sim.activeTasks());
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent) send(res, 500, { error: String(err) });
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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname;

    if (path === '/__stats' && req.method === 'GET') return send(res, 200, this.stats());
    if (path === '/__knobs' && req.method === 'GET') return send(res, 200, this.getKnobs());
    if (path === '/__knobs' && req.method === 'POST') return this.postKnobs(res, body);
    if (path === '/__reset' && req.method === 'POST') {
      this.reset();
      return send(res, 200, { ok: true });
    }
    const img = /^\/images\/([^/]+)\/(\d+)\.png$/.exec(path);
    if (img && req.method === 'GET') return serveImage(this.sim, res, img[1]);

    const action = url.searchParams.get('Action');
    if (path === '/' && req.method === 'POST' && isVolcAction(action)) {
      return handleVolcengine(this.sim, req, res, action, url.searchParams.get('Version') ?? '', body);
    }
    if (path === '/api/v1/services/aigc/text2image/image-synthesis' && req.method === 'POST') {
      return handleDashscope(this.sim, req, res, 'create', body);
    }
    const dt = /^\/api\/v1\/tasks\/([^/]+)(\/cancel)?$/.exec(path);
    if (dt && (req.method === 'GET' || (dt[2] && req.method === 'POST'))) {
      return handleDashscope(this.sim, req, res, dt[2] ? 'cancel' : 'status', body, decodeURIComponent(dt[1]));
    }
    if (await routeProviders(this.sim, req, res, url, body)) return;
    this.sim.stats.request('unknown-path');
    send(res, 404, { error: `no such path: ${req.method} ${path}` });
  }

  /**
   * Changes the knobs the body names and keeps the others (POST /__reset forgets tasks and counters). Parsed over the
   * current knobs, not alone: the schema's defaults would otherwise reset every knob the body leaves out.
   */
  private postKnobs(res: ServerResponse, body: Buffer): void {
    let changes: unknown;
    try {
      changes = JSON.parse(body.toString() || '{}');
    } catch (err) {
      return send(res, 400, { error: `body is not JSON: ${(err as Error).message}` });
    }
    if (typeof changes !== 'object' || changes === null || Array.isArray(changes))
      return send(res, 400, { error: 'body must be a JSON object of knobs' });
    const parsed = KnobsSchema.safeParse({ ...this.getKnobs(), ...changes });
    if (!parsed.success) return send(res, 400, { error: parsed.error.message });
    send(res, 200, this.setKnobs(parsed.data));
  }
}

export async function startSimulator(
  knobs: KnobsInput = {},
  port = 0,
  host = '127.0.0.1',
  options: SimulatorOptions = {},
): Promise<ProviderSimulator> {
  const sim = new ProviderSimulator(knobs, options);
  await sim.listen(port, host);
  return sim;
}

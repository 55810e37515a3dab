// The simulated provider behind every wire format: its knobs, seeded draws, tasks and counters.
// A task's outcome is drawn when it is submitted; its phase follows from the clock.
import { randomUUID } from 'node:crypto';
import { type Knobs, type KnobsInput, KnobsSchema } from './knobs';
import { renderPng } from './png';
import { drawLatency, seededRandom } from './random';
import { StatsCounter } from './stats';

export type Api = 'volcengine' | 'dashscope' | 'fal' | 'openai' | 'comfyui';
export type Outcome = 'image' | 'expire' | 'moderated' | 'output-rejected';
export type TaskPhase = 'queued' | 'generating' | 'finished' | 'cancelled';

export interface SimTask {
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

/** What a submission says; the simulation adds the id, the timings and the outcome. */
export type TaskRequest = Omit<SimTask, 'id' | 'createdAt' | 'generatingAt' | 'readyAt' | 'outcome' | 'cancelled'>;

export interface CreateOptions {
  /** A client-chosen id (ComfyUI's prompt_id); a repeated one makes a second task under it, as ComfyUI does. */
  id?: string;
  /** Over the concurrency limit the task waits its turn (fal, ComfyUI) instead of being refused. */
  queueOverLimit?: boolean;
  /** The API has no moderation (ComfyUI): the moderation words do nothing. */
  unmoderated?: boolean;
}

export function taskPhase(t: SimTask, now = Date.now()): TaskPhase {
  if (t.cancelled) return 'cancelled';
  if (now < t.generatingAt) return 'queued';
  if (now < t.readyAt) return 'generating';
  return 'finished';
}

export class Simulation {
  knobs: Knobs;
  rnd!: () => number;
  readonly stats = new StatsCounter();
  private tasks = new Map<string, SimTask>();
  // Volcengine task ids are big decimal numbers; not reset, so ids stay unique across resets.
  private nextId = 7392616336519610000n;

  /** baseUrl: where the server listens, known only once it does; image URLs point there. */
  constructor(
    knobs: KnobsInput,
    readonly baseUrl: () => string,
  ) {
    this.knobs = KnobsSchema.parse(knobs);
    this.reset();
  }

  /** Forgets tasks and counters and restarts the draws from the seed, so the next run draws what the last one did. */
  reset(): void {
    this.tasks.clear();
    this.rnd = seededRandom(this.knobs.randomSeed);
    this.stats.reset();
  }

  setKnobs(partial: KnobsInput): Knobs {
    this.knobs = KnobsSchema.parse({ ...this.knobs, ...partial });
    return this.knobs;
  }

  task(id: string): SimTask | undefined {
    return this.tasks.get(id);
  }

  /** The tasks that came in by one wire format, oldest first. */
  tasksOf(api: Api): SimTask[] {
    return [...this.tasks.values()].filter((t) => t.api === api);
  }

  /** Unfinished, uncancelled tasks (of one wire format, when given). */
  activeTasks(now = Date.now(), api?: Api): number {
    let n = 0;
    for (const t of this.tasks.values()) if (!t.cancelled && now < t.readyAt && (!api || t.api === api)) n++;
    return n;
  }

  /** Uncancelled tasks still queued that were submitted before this one: its place in the queue. */
  queuePosition(task: SimTask, now = Date.now()): number {
    let n = 0;
    for (const t of this.tasks.values())
      if (t !== task && !t.cancelled && now < t.generatingAt && t.createdAt <= task.createdAt) n++;
    return n;
  }

  /** When a slot under the concurrency limit is free for a new task: the tasks ahead hold theirs until they end. */
  private slotFreeAt(now: number): number {
    const limit = this.knobs.concurrencyLimit;
    if (limit <= 0) return now;
    const ends: number[] = [];
    for (const t of this.tasks.values()) if (!t.cancelled && now < t.readyAt) ends.push(t.readyAt);
    ends.sort((a, b) => a - b);
    return ends.length < limit ? now : ends[ends.length - limit];
  }

  private moderated(prompt: string): boolean {
    const p = prompt.toLowerCase();
    return this.knobs.moderationWords.some((w) => p.includes(w.toLowerCase()));
  }

  /** Creates a task, or says why not. The draws keep their order so a seed replays the same run. */
  create(t: TaskRequest, o: CreateOptions = {}): SimTask | 'moderated' | 'limited' {
    const k = this.knobs;
    const moderated = !o.unmoderated && this.moderated(t.prompt);
    if (moderated && k.moderationAt === 'submit') return 'moderated';
    const now = Date.now();
    const over = k.concurrencyLimit > 0 && this.activeTasks(now) >= k.concurrencyLimit;
    if (over && !o.queueOverLimit) return 'limited';
    const latency = drawLatency(k.latencyMs, this.rnd);
    const nth = this.stats.submissionsOf(t.prompt);
    let outcome: Outcome = 'image';
    if (moderated) outcome = 'moderated';
    else if (nth < k.expireFirst || this.rnd() < k.expire) outcome = 'expire';
    else if (t.api === 'volcengine' && (nth < k.outputRejectFirst || this.rnd() < k.outputReject))
      outcome = 'output-rejected';
    this.nextId += BigInt(1 + Math.floor(this.rnd() * 1000));
    const id = o.id ?? (t.api === 'volcengine' ? this.nextId.toString() : randomUUID());
    // A queued task starts generating once a slot is free; it generates as long as it would have anyway.
    const generatingAt = Math.max(now + latency * k.queueShare, over ? this.slotFreeAt(now) : now);
    const task: SimTask = {
      ...t,
      id,
      createdAt: now,
      generatingAt,
      readyAt: generatingAt + latency * (1 - k.queueShare),
      outcome,
      cancelled: false,
    };
    this.tasks.set(id, task);
    const by = { api: t.api, inFlight: this.activeTasks(now, t.api) };
    this.stats.submission(t.prompt, t.seed, this.activeTasks(now), by);
    this.stats.task(id, now, task.readyAt);
    return task;
  }

  /**
   * Every task still queued or generating finishes now, and the next ones take the latency the knobs say: a test
   * holds tasks with a long latency, then releases them when it chooses. A synchronous call (OpenAI) already
   * waiting is not woken. Returns how many were released.
   */
  finishNow(): number {
    const now = Date.now();
    let n = 0;
    for (const t of this.tasks.values()) {
      if (t.cancelled || now >= t.readyAt) continue;
      t.generatingAt = Math.min(t.generatingAt, now);
      t.readyAt = now;
      this.stats.task(t.id, t.createdAt, now);
      n++;
    }
    return n;
  }

  /** Cancelling a finished or already cancelled task changes nothing, as at the providers. */
  cancel(t: SimTask): void {
    if (!t.cancelled && Date.now() < t.readyAt) {
      t.cancelled = true;
      this.stats.cancel(t.id, t.api);
    }
  }

  /** The task's image, recorded as served. */
  image(t: SimTask): Buffer {
    const png = renderPng(t.prompt, t.seed, t.width, t.height);
    this.stats.served(t.id, png);
    return png;
  }

  imageUrl(t: SimTask): string {
    return `${this.baseUrl()}/images/${t.id}/0.png`;
  }
}

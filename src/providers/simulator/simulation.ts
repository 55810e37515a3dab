// The simulated provider behind both wire formats: its knobs, seeded draws, tasks and counters.
// A task's outcome is drawn when it is submitted; its phase follows from the clock.
import { randomUUID } from 'node:crypto';
import { type Knobs, type KnobsInput, KnobsSchema } from './knobs';
import { renderPng } from './png';
import { drawLatency, seededRandom } from './random';
import { StatsCounter } from './stats';

export type Api = 'volcengine' | 'dashscope';
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
    private readonly baseUrl: () => string,
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

  activeTasks(now = Date.now()): number {
    let n = 0;
    for (const t of this.tasks.values()) if (!t.cancelled && now < t.readyAt) n++;
    return n;
  }

  private moderated(prompt: string): boolean {
    const p = prompt.toLowerCase();
    return this.knobs.moderationWords.some((w) => p.includes(w.toLowerCase()));
  }

  /** Creates a task, or says why not. The draws keep their order so a seed replays the same run. */
  create(t: TaskRequest): SimTask | 'moderated' | 'limited' {
    const k = this.knobs;
    if (this.moderated(t.prompt) && k.moderationAt === 'submit') return 'moderated';
    const now = Date.now();
    if (k.concurrencyLimit > 0 && this.activeTasks(now) >= k.concurrencyLimit) return 'limited';
    const latency = drawLatency(k.latencyMs, this.rnd);
    const nth = this.stats.submissionsOf(t.prompt);
    let outcome: Outcome = 'image';
    if (this.moderated(t.prompt)) outcome = 'moderated';
    else if (nth < k.expireFirst || this.rnd() < k.expire) outcome = 'expire';
    else if (t.api === 'volcengine' && (nth < k.outputRejectFirst || this.rnd() < k.outputReject))
      outcome = 'output-rejected';
    this.nextId += BigInt(1 + Math.floor(this.rnd() * 1000));
    const id = t.api === 'volcengine' ? this.nextId.toString() : randomUUID();
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
    this.stats.submission(t.prompt, t.seed, this.activeTasks(now));
    this.stats.task(id, now, task.readyAt);
    return task;
  }

  /** Cancelling a finished or already cancelled task changes nothing, as at the providers. */
  cancel(t: SimTask): void {
    if (!t.cancelled && Date.now() < t.readyAt) {
      t.cancelled = true;
      this.stats.cancel(t.id);
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

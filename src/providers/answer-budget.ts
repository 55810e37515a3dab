// The memory a worker process gives to large answers being read (an OpenAI-compatible image comes back as base64
// inside the JSON: tens of MB, read, joined, decoded and parsed, several copies at once). Calls in flight mostly wait
// for the provider and hold nothing; only answers whose body is arriving hold memory, so only those are admitted
// against one byte budget per process, whatever --concurrency and --max-activities allow. An answer waiting for
// room is not read: it stays in the socket (the sender is slowed by TCP), not in this process.

/** Default budget: IMAGEBATCH_ANSWER_MEMORY_MB overrides it. */
export const DEFAULT_ANSWER_MEMORY_MB = 256;

export class ByteBudget {
  private used = 0;
  private readonly queue: { bytes: number; admit: () => void }[] = [];
  /** What it admitted at most at once: bytes, and answers. */
  readonly peak = { bytes: 0, holders: 0 };
  private holders = 0;
  /** How many reservations had to wait for room. */
  waited = 0;

  constructor(readonly total: number) {}

  /**
   * Room for `bytes` (at most the whole budget), first come first served and all at once (a reader never holds part
   * of what it needs while it waits for the rest, so readers cannot block each other for ever). Resolves with the
   * release; an abort while waiting rejects and takes nothing.
   */
  reserve(bytes: number, signal?: AbortSignal): Promise<() => void> {
    const want = Math.min(Math.max(0, bytes), this.total);
    return new Promise((resolve, reject) => {
      const entry = {
        bytes: want,
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          this.take(want);
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.give(want);
          });
        },
      };
      const onAbort = () => {
        const i = this.queue.indexOf(entry);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal?.reason ?? new Error('aborted'));
        this.next();
      };
      if (signal?.aborted) return onAbort();
      if (this.queue.length === 0 && this.used + want <= this.total) return entry.admit();
      this.waited++;
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(entry);
    });
  }

  private take(bytes: number) {
    this.used += bytes;
    this.holders++;
    this.peak.bytes = Math.max(this.peak.bytes, this.used);
    this.peak.holders = Math.max(this.peak.holders, this.holders);
  }

  private give(bytes: number) {
    this.used -= bytes;
    this.holders--;
    this.next();
  }

  /** Admits waiting readers in order while the first fits. */
  private next() {
    while (this.queue.length && this.used + this.queue[0].bytes <= this.total) this.queue.shift()!.admit();
  }
}

let shared: ByteBudget | undefined;

/** The process's one budget for answers in flight (IMAGEBATCH_ANSWER_MEMORY_MB, default 256). */
export function processAnswerBudget(env: NodeJS.ProcessEnv = process.env): ByteBudget {
  const mb = Number(env.IMAGEBATCH_ANSWER_MEMORY_MB);
  shared ??= new ByteBudget((Number.isFinite(mb) && mb >= 1 ? mb : DEFAULT_ANSWER_MEMORY_MB) * 1024 * 1024);
  return shared;
}

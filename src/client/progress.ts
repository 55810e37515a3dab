// Progress while a batch runs: a bar on a terminal (stderr, so stdout stays clean), plain lines otherwise.
import cliProgress from 'cli-progress';
import { etaWords } from '../shared/batch-eta';
import type { BatchProgress, BatchSummary } from '../shared/batch-types';
import type { AccountWait } from './account-waits';
import { type RunningSplit, stateCounts } from './image-states';
import { batchJobWords } from './batch-api-words';

export interface ProgressView {
  /**
   * `waits`: the batch's images waiting for a slot of each provider account, when known; `split`: how its running
   * images split between waiting and generating, when known.
   */
  update(p: BatchProgress, waits?: AccountWait[], split?: RunningSplit): void;
  /** The last query may predate the last results: the bar ends at the summary's counts. */
  finish(s: BatchSummary): void;
  /** Takes the bar off the terminal (a question is asked there) until resume() draws it again with the latest. */
  pause(): void;
  resume(): void;
  /** For good: later updates draw nothing. */
  stop(): void;
  /** A line of its own about what the batch does now (the bar is drawn again below it). */
  note(text: string): void;
}

/**
 * "2 running, 3 waiting for a slot of volcengine at …": images with a slot run, the others wait for one. The waits
 * are a few seconds older than the progress: never more than are running.
 */
function runningWords(p: BatchProgress, waits: AccountWait[], split?: RunningSplit): string {
  // No account answered (yet): what visibility counted waiting, without naming the account.
  if (split && !waits.some((w) => w.waitingForThisBatch)) {
    const s = stateCounts(p, split);
    return `${p.running - s.waiting} running${s.waiting ? `, ${s.waiting} waiting for a slot` : ''}`;
  }
  let left = p.running;
  const waiting = waits.map((w) => {
    const n = Math.min(left, w.waitingForThisBatch ?? 0);
    left -= n;
    return n ? `, ${n} waiting for a slot of ${w.label}` : '';
  });
  return `${left} running${waiting.join('')}`;
}

/** " · 2 generating": what the running images do, when visibility has said. */
function splitWords(p: BatchProgress, split?: RunningSplit): string {
  if (!split || !p.running) return '';
  const s = stateCounts(p, split);
  return ` · ${s.generating} generating`;
}

/** " · 12.5/min, ETA 4 min" once the batch has a rate (see batch-eta.ts). */
function rateWords(p: BatchProgress): string {
  if (p.ratePerMinute === undefined) return '';
  return ` · ${p.ratePerMinute}/min${p.eta ? `, ${etaWords(p.eta, Date.now())}` : ''}`;
}

const budgetWords = (p: BatchProgress) => (p.budget ? `, budget ${p.budget.used}/${p.budget.max}` : '');

/** A batch that stops by itself says why: paused with a reason (its folder cannot be written), or its budget spent. */
function flagWords(p: BatchProgress): string {
  const paused = p.paused ? `paused${p.stopped ? `: ${p.stopped}` : ''}` : '';
  const spent = !p.paused && p.stopped ? 'budget spent' : '';
  return [paused, spent, p.cancelRequested ? 'cancelling' : ''].filter(Boolean).join(', ');
}

export function describeProgress(p: BatchProgress, waits: AccountWait[] = [], split?: RunningSplit): string {
  const done = p.succeeded + p.failed + p.cancelled;
  const flags = flagWords(p);
  return (
    `${done}/${p.total} done (ok ${p.succeeded}${p.skipped ? `, ${p.skipped} skipped` : ''}, failed ${p.failed}, cancelled ${p.cancelled}), ` +
    `${runningWords(p, waits, split)}, ${p.queued} queued, concurrency ${p.concurrency}${budgetWords(p)}${flags ? ` [${flags}]` : ''}` +
    `${splitWords(p, split)}${rateWords(p)}${batchJobWords(p)}`
  );
}

export function createProgressView(o: { quiet: boolean; tty: boolean }): ProgressView {
  const none = () => undefined;
  if (o.quiet) return { update: none, finish: none, pause: none, resume: none, stop: none, note: none };
  if (o.tty) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format:
          ' {bar} {percentage}% | {value}/{total} | ok {succeeded} failed {failed} cancelled {cancelled} | {running}{budget} {flags}{rate}',
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    let paused = false;
    let stopped = false;
    let latest: [BatchProgress, AccountWait[], RunningSplit | undefined] | undefined;
    const hide = () => {
      if (started) bar.stop();
      started = false;
    };
    return {
      update(p, waits = [], split) {
        latest = [p, waits, split];
        if (paused || stopped) return;
        const flags = flagWords(p);
        const payload = {
          ...p,
          running: runningWords(p, waits, split) + splitWords(p, split),
          rate: rateWords(p) + batchJobWords(p),
          budget: budgetWords(p),
          flags: flags ? `[${flags}]` : '',
        };
        const value = p.succeeded + p.failed + p.cancelled;
        if (!started) {
          bar.start(p.total, value, payload);
          started = true;
        } else bar.update(value, payload);
      },
      finish(s) {
        if (paused || stopped) return;
        if (!started) bar.start(s.total, 0);
        started = true;
        bar.update(s.succeeded + s.failed + s.cancelled, {
          ...s,
          running: '0 running',
          budget: '',
          flags: '',
          rate: '',
        });
      },
      pause() {
        hide();
        paused = true;
      },
      resume() {
        paused = false;
        if (latest) this.update(...latest);
      },
      stop() {
        hide();
        stopped = true;
      },
      note(text) {
        if (paused || stopped) return;
        hide();
        process.stderr.write(`imagebatch: ${text}\n`);
        if (latest) this.update(...latest);
      },
    };
  }
  let last = '';
  return {
    update(p, waits, split) {
      const line = describeProgress(p, waits, split);
      // A new line when something changed, not each time the ETA ticks.
      const key = line.slice(0, line.length - rateWords(p).length);
      if (key !== last) process.stderr.write(`progress: ${line}\n`);
      last = key;
    },
    finish: none,
    pause: none,
    resume: none,
    stop: none,
    note: (text) => void process.stderr.write(`imagebatch: ${text}\n`),
  };
}

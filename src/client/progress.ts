// Progress while a batch runs: a bar on a terminal (stderr, so stdout stays clean), plain lines otherwise.
import cliProgress from 'cli-progress';
import type { BatchProgress, BatchSummary } from '../shared/batch-types';

export interface ProgressView {
  update(p: BatchProgress): void;
  /** The last query may predate the last results: the bar ends at the summary's counts. */
  finish(s: BatchSummary): void;
  stop(): void;
}

export function describeProgress(p: BatchProgress): string {
  const done = p.succeeded + p.failed + p.cancelled;
  const flags = [p.paused ? 'paused' : '', p.cancelRequested ? 'cancelling' : ''].filter(Boolean).join(', ');
  return (
    `${done}/${p.total} done (ok ${p.succeeded}${p.skipped ? `, ${p.skipped} skipped` : ''}, failed ${p.failed}, cancelled ${p.cancelled}), ` +
    `${p.running} running, ${p.queued} queued, concurrency ${p.concurrency}${flags ? ` [${flags}]` : ''}`
  );
}

export function createProgressView(o: { quiet: boolean; tty: boolean }): ProgressView {
  if (o.quiet) return { update: () => undefined, finish: () => undefined, stop: () => undefined };
  if (o.tty) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format:
          ' {bar} {percentage}% | {value}/{total} | ok {succeeded} failed {failed} cancelled {cancelled} | running {running} {flags}',
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        const payload = { ...p, flags: p.paused ? '[paused]' : p.cancelRequested ? '[cancelling]' : '' };
        const value = p.succeeded + p.failed + p.cancelled;
        if (!started) {
          bar.start(p.total, value, payload);
          started = true;
        } else bar.update(value, payload);
      },
      finish(s) {
        if (!started) bar.start(s.total, 0);
        started = true;
        bar.update(s.succeeded + s.failed + s.cancelled, { ...s, running: 0, flags: '' });
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let last = '';
  return {
    update(p) {
      const line = describeProgress(p);
      if (line !== last) process.stderr.write(`progress: ${line}\n`);
      last = line;
    },
    finish: () => undefined,
    stop: () => undefined,
  };
}

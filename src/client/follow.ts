// Following a batch until it ends (or stops: open, but starting nothing more until it is resumed): progress from its
// query, the end from its result, and Ctrl-C (cancel or detach).
import readline from 'node:readline';
import type { BatchProgress } from '../shared/batch-types';
import { cancelUpdate, progressQuery } from '../shared/messages';
import { accountWatch } from './account-waits';
import type { BatchHandle } from './batch-lookup';
import { type BatchOutcome, isStopped, outcomeOf } from './batch-outcome';
import { hookWaits, hookWaitWords } from './hook-waits';
import { splitWatch } from './image-states';
import { createProgressView, type ProgressView } from './progress';

const POLL_MS = 500;
/** How often a batch waiting for its hooks is asked how they fare (a describe call). */
const HOOK_POLL_MS = 3000;

/**
 * Shows progress until the batch ends, or stops with nothing in flight. Ctrl-C asks whether to cancel (on a
 * terminal); a second Ctrl-C detaches, leaving the batch on the server.
 */
export async function followBatch(
  handle: BatchHandle,
  o: { json: boolean; interactive: boolean; batchId: string; hooks?: boolean },
): Promise<BatchOutcome> {
  const view = createProgressView({ quiet: o.json, tty: Boolean(process.stderr.isTTY) });
  const link = connectionReporter(view);
  const ctrlC = onCtrlC(handle, view, o);
  let onStopped!: (p: BatchProgress) => void;
  const stopped = new Promise<BatchOutcome>(
    (resolve) => (onStopped = (progress) => resolve({ kind: 'stopped', progress })),
  );
  // The batch stays open while its completion hooks run (a webhook is retried for up to an hour): say why it waits,
  // and once a hook has failed, how it fails, for how long it is retried, and that detaching leaves that to workers.
  const hooks = watchHooks(handle, view);
  const onDone = o.hooks
    ? once(() => {
        view.note('every item has ended; running the completion hooks');
        hooks.start();
      })
    : undefined;
  const progress = pollProgress(handle, view, link, o.batchId, onStopped, onDone);
  // Ends the wait for the result when following ends otherwise (stopped, detached).
  const done = new AbortController();
  const finished = (async (): Promise<BatchOutcome> => {
    for (;;) {
      try {
        const outcome = await handle.client.withAbortSignal(done.signal, () => outcomeOf(handle));
        link(true);
        if (outcome.kind === 'finished') view.finish(outcome.summary);
        return outcome;
      } catch (err) {
        if (done.signal.aborted) return { kind: 'detached' };
        if (!isConnectionError(err)) throw err;
        // The server went away (restarting?): the batch is safe in its history; wait for it to come back.
        link(false, err);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();
  try {
    return await Promise.race([finished, stopped, ctrlC.detached]);
  } finally {
    done.abort();
    hooks.stop();
    ctrlC.stop();
    view.stop();
    await progress.stop();
    await finished.catch(() => undefined);
  }
}

const once = (fn: () => void) => {
  let called = false;
  return () => {
    if (!called) fn();
    called = true;
  };
};

/** Every HOOK_POLL_MS, a note for each hook attempt that failed since the last (the server's pending activities). */
function watchHooks(handle: BatchHandle, view: ProgressView) {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const told = new Set<string>();
  const look = async () => {
    try {
      for (const w of await hookWaits(handle)) {
        const words = hookWaitWords(w, Date.now());
        if (words && !told.has(`${w.what}#${w.attempt}`)) view.note(words);
        told.add(`${w.what}#${w.attempt}`);
      }
    } catch {
      // The server is away or the batch has just ended: the next look, or the result, says.
    }
    if (!stopped) timer = setTimeout(() => void look(), HOOK_POLL_MS);
  };
  return {
    start: () => void look(),
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Says once when the connection to Temporal is lost, and once when it is back. */
function connectionReporter(view: ProgressView): (ok: boolean, err?: unknown) => void {
  let lost = false;
  return (ok, err) => {
    if (!ok && !lost) {
      view.pause();
      const why = (err as Error)?.message ?? String(err);
      process.stderr.write(`imagebatch: lost the connection to Temporal (${why}); retrying…\n`);
    } else if (ok && lost) {
      process.stderr.write('imagebatch: connection to Temporal is back.\n');
      view.resume();
    }
    lost = !ok;
  };
}

/** Queries progress every POLL_MS until stopped; calls `onStopped` when the batch has stopped with nothing in flight. */
function pollProgress(
  handle: BatchHandle,
  view: ProgressView,
  link: (ok: boolean, err?: unknown) => void,
  batchId: string,
  onStopped: (p: BatchProgress) => void,
  onDone?: () => void,
) {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // The query under way: closing the connection while the client still retries it would crash the process, so
  // stop() aborts it (a query no worker answers, of a batch that has just ended, would wait long) and waits for it.
  let inflight: Promise<unknown> = Promise.resolve();
  // One per query: a signal keeps a listener for each call made under it.
  let abort = new AbortController();
  const accounts = accountWatch(handle.client, batchId);
  const split = splitWatch(handle.client, batchId);
  const poll = async () => {
    if (stopped) return;
    try {
      abort = new AbortController();
      const query = handle.client.withAbortSignal(abort.signal, () => handle.query(progressQuery));
      inflight = query.catch(() => undefined);
      const p = await query;
      link(true);
      accounts.refresh(p);
      split.refresh(p);
      view.update(p, accounts.latest(), split.latest());
      if (isStopped(p)) onStopped(p);
      if (p.done) onDone?.();
    } catch (err) {
      // No worker answered yet, or the run is between continue-as-new runs: try again shortly.
      if (isConnectionError(err)) link(false, err);
    }
    if (!stopped) timer = setTimeout(() => void poll(), POLL_MS);
  };
  void poll();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      abort.abort();
      await Promise.race([
        Promise.all([inflight, accounts.settled(), split.settled()]),
        new Promise((r) => setTimeout(r, 10_000).unref()),
      ]);
    },
  };
}

/** The first Ctrl-C asks whether to cancel (interactive, on a terminal) or explains; the second detaches. */
function onCtrlC(handle: BatchHandle, view: ProgressView, o: { interactive: boolean; batchId: string }) {
  let interrupts = 0;
  let detach!: () => void;
  const detached = new Promise<BatchOutcome>((resolve) => (detach = () => resolve({ kind: 'detached' })));
  let rl: readline.Interface | undefined;
  /** Closes an open question; what is printed next starts on a line of its own, not after the question. */
  const closeQuestion = () => {
    if (!rl) return;
    rl.close();
    rl = undefined;
    process.stderr.write('\n');
  };
  const cancel = () => {
    process.stderr.write('cancelling…\n');
    handle
      .executeUpdate(cancelUpdate, { args: [{}] })
      .then((answer) => process.stderr.write(`${answer.message}\n`))
      // A refusal's reason is its cause's message (WorkflowUpdateFailedError).
      .catch((err: Error) => process.stderr.write(`cancel failed: ${(err.cause as Error)?.message ?? err.message}\n`));
  };
  const listener = () => {
    interrupts++;
    if (interrupts >= 2) {
      closeQuestion();
      detach();
      return;
    }
    if (!o.interactive || !process.stdin.isTTY) {
      process.stderr.write(
        `\nCtrl-C again to detach (the batch keeps running); \`imagebatch cancel ${o.batchId}\` cancels it.\n`,
      );
      return;
    }
    view.pause();
    rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    // While the question is open the terminal is in raw mode: Ctrl-C reaches readline as a key, not as a signal.
    rl.on('SIGINT', listener);
    rl.question(`\nCancel batch ${o.batchId}? [y/N] (Ctrl-C again to detach and leave it running) `, (answer) => {
      rl?.close();
      rl = undefined;
      if (/^y/i.test(answer.trim())) cancel();
      interrupts = 0;
      view.resume();
    });
  };
  process.on('SIGINT', listener);
  return {
    detached,
    stop() {
      process.off('SIGINT', listener);
      closeQuestion();
    },
  };
}

/** gRPC unavailability and transport failures, as opposed to answers from the server. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { name?: string; code?: number; cause?: { code?: number }; message?: string };
  if (!e) return false;
  if (e.name === 'TransportError') return true;
  const code = e.code ?? e.cause?.code;
  // 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED
  if (
    e.name === 'ServiceError' &&
    (code === 14 || code === 4 || /UNAVAILABLE|connect|ECONNREFUSED/i.test(e.message ?? ''))
  )
    return true;
  return /ECONNREFUSED|UNAVAILABLE|No connection established/i.test(e.message ?? '');
}

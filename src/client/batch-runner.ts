// Starting a batch and following it to the end: shared by `run`, `retry` of a finished batch and `watch`.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { type Manifest, readManifest } from '../output/manifest';
import { itemsSourceFor } from '../output/items-copy';
import type { BatchInput, BatchSummary, ItemsSource } from '../shared/batch-types';
import { cancelSignal, progressQuery } from '../shared/messages';
import { ImageBatchId } from '../shared/search-attributes';
import type { ImageItem } from '../shared/types';
import type { batchWorkflow } from '../workflows';
import { EXIT } from './exit-codes';
import { createProgressView, describeProgress } from './progress';
import { batchUiLink, type Session } from './session';

export const batchWorkflowId = (batchId: string) => `batch-${batchId}`;

export function newBatchId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

export const itemsSource = itemsSourceFor;

export async function startBatch(session: Session, input: BatchInput, taskQueue: string) {
  return session.client.workflow.start<typeof batchWorkflow>('batchWorkflow', {
    taskQueue,
    workflowId: batchWorkflowId(input.batchId),
    args: [input],
    // The same batch id while it runs: attach to it rather than fail.
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [{ key: ImageBatchId, value: input.batchId }],
    staticSummary: `${input.itemsName ?? 'items'}: ${input.items.kind === 'inline' ? input.items.items.length : input.items.count} images → ${input.outDir}`,
  });
}

export type FollowOutcome = { kind: 'finished'; summary: BatchSummary } | { kind: 'cancelled' } | { kind: 'detached' };

/**
 * Shows progress until the batch ends. Ctrl-C asks whether to cancel (on a terminal); a second Ctrl-C detaches,
 * leaving the batch on the server.
 */
export async function followBatch(
  handle: WorkflowHandle<typeof batchWorkflow>,
  o: { json: boolean; interactive: boolean; batchId: string },
): Promise<FollowOutcome> {
  const view = createProgressView({ quiet: o.json, tty: Boolean(process.stderr.isTTY) });
  let interrupts = 0;
  let detach!: () => void;
  const detached = new Promise<FollowOutcome>((resolve) => (detach = () => resolve({ kind: 'detached' })));
  let rl: readline.Interface | undefined;
  const onSigint = () => {
    interrupts++;
    if (interrupts >= 2) {
      rl?.close();
      detach();
      return;
    }
    if (o.interactive && process.stdin.isTTY) {
      view.stop();
      rl = readline.createInterface({ input: process.stdin, output: process.stderr });
      rl.question(`\nCancel batch ${o.batchId}? [y/N] (Ctrl-C again to detach and leave it running) `, (answer) => {
        rl?.close();
        rl = undefined;
        if (/^y/i.test(answer.trim())) {
          process.stderr.write('cancelling…\n');
          handle
            .signal(cancelSignal, {})
            .catch((err: Error) => process.stderr.write(`cancel failed: ${err.message}\n`));
        }
        interrupts = 0;
      });
    } else {
      process.stderr.write(
        `\nCtrl-C again to detach (the batch keeps running); \`imagebatch cancel ${o.batchId}\` cancels it.\n`,
      );
    }
  };
  process.on('SIGINT', onSigint);
  let timer: NodeJS.Timeout | undefined;
  let lost = false;
  const connection = (ok: boolean, err?: unknown) => {
    if (!ok && !lost) {
      view.stop();
      process.stderr.write(
        `imagebatch: lost the connection to Temporal (${(err as Error)?.message ?? err}); retrying…\n`,
      );
    } else if (ok && lost) process.stderr.write('imagebatch: connection to Temporal is back.\n');
    lost = !ok;
  };
  let stopped = false;
  // The query under way: closing the connection while the client still retries it would crash the process.
  let inflight: Promise<unknown> = Promise.resolve();
  const poll = async () => {
    if (stopped) return;
    try {
      const query = handle.query(progressQuery);
      inflight = query.catch(() => undefined);
      const p = await query;
      connection(true);
      view.update(p);
    } catch (err) {
      // No worker answered yet, or the run is between continue-as-new runs: try again shortly.
      if (isConnectionError(err)) connection(false, err);
    }
    if (!stopped) timer = setTimeout(() => void poll(), 500);
  };
  void poll();
  const finished = (async (): Promise<FollowOutcome> => {
    for (;;) {
      try {
        const summary = await handle.result();
        connection(true);
        view.finish(summary);
        return { kind: 'finished', summary };
      } catch (err) {
        if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) return { kind: 'cancelled' };
        if (!isConnectionError(err)) throw err;
        // The server went away (restarting?): the batch is safe in its history; wait for it to come back.
        connection(false, err);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();
  try {
    return await Promise.race([finished, detached]);
  } finally {
    stopped = true;
    clearTimeout(timer);
    process.off('SIGINT', onSigint);
    rl?.close();
    view.stop();
    await Promise.race([inflight, new Promise((r) => setTimeout(r, 10_000).unref())]);
  }
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

/** The one JSON document `--json` prints. */
export function resultDocument(batchId: string, status: string, batchDir: string, manifest: Manifest | undefined) {
  const counts = manifest?.counts ?? {};
  return {
    batchId,
    workflowId: batchWorkflowId(batchId),
    status,
    counts: { total: manifest?.items.length ?? 0, ...counts },
    manifest: manifest ? path.join(batchDir, 'manifest.json') : null,
    items: (manifest?.items ?? []).map((e) => ({
      id: e.id,
      status: e.status,
      file: e.file ? path.join(batchDir, e.file) : null,
      sha256: e.sha256 ?? null,
      attempts: e.attempts,
      prompts: e.prompts,
      error: e.error ?? null,
      skipped: e.skipped ?? false,
    })),
  };
}

/** Prints the end of a batch and returns the exit code: 0 when every item succeeded. */
export function reportOutcome(
  outcome: FollowOutcome,
  o: { json: boolean; batchId: string; batchDir: string; session: Session },
): number {
  if (outcome.kind === 'detached') {
    const where = o.session.embedded
      ? `It is saved in the dev server's database; \`imagebatch worker\` resumes it and \`imagebatch watch ${o.batchId}\` follows it.`
      : `\`imagebatch watch ${o.batchId}\` follows it; a running \`imagebatch worker\` keeps it going.`;
    process.stderr.write(`Detached from batch ${o.batchId}. ${where}\n`);
    if (o.json)
      process.stdout.write(
        JSON.stringify({ batchId: o.batchId, workflowId: batchWorkflowId(o.batchId), status: 'detached' }) + '\n',
      );
    return EXIT.ok;
  }
  const manifest = readManifest(o.batchDir);
  const status = outcome.kind === 'cancelled' ? 'cancelled' : outcome.summary.status;
  const doc = resultDocument(o.batchId, status, o.batchDir, manifest);
  if (o.json) process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  else {
    const c = doc.counts as Record<string, number>;
    console.log(
      `Batch ${o.batchId} ${status}: ${c.succeeded ?? 0} succeeded${c.skipped ? ` (${c.skipped} already there)` : ''}, ` +
        `${c.failed ?? 0} failed, ${c.cancelled ?? 0} cancelled.`,
    );
    for (const item of doc.items.filter((i) => i.status !== 'succeeded').slice(0, 20))
      console.log(`  ${item.id}: ${item.status}: ${item.error}`);
    if (doc.manifest) console.log(`Images and manifest: ${doc.manifest}`);
  }
  const c = doc.counts as Record<string, number>;
  return status === 'completed' && !c.failed && !c.cancelled ? EXIT.ok : EXIT.someFailed;
}

/** Exits once the exit code is set, even if native handles (worker polls) would keep the process alive. */
export function forceExitSoon(ms = 2000): void {
  setTimeout(() => process.exit(), ms).unref();
}

export function printStartBanner(session: Session, batchId: string, extra: string[] = []): void {
  const link = batchUiLink(session.uiUrl, session.target.namespace, batchWorkflowId(batchId));
  for (const line of extra) process.stderr.write(`${line}\n`);
  process.stderr.write(`Batch ${batchId} started (workflow ${batchWorkflowId(batchId)}).\n`);
  if (link) process.stderr.write(`Web UI: ${link}\n`);
}

export { describeProgress };

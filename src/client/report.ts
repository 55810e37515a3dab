// Reporting a batch: the one JSON document `--json` prints, the printed summary, and the exit code (exitCodeFor).
// `run` and `retry` work the batch in this process and read its manifest; `status` and `watch` read only the
// workflow, so they work from a machine that cannot see the output folder. Their documents share the fields of
// BatchDocument.
import path from 'node:path';
import { batchFolder } from '../output/batch-folder';
import { type Manifest, readManifest } from '../output/manifest';
import type { BatchProgress, FailureNote } from '../shared/batch-types';
import { type BatchOutcome, statusOf } from './batch-outcome';
import { batchWorkflowId } from './batch-start';
import { exitCodeFor } from './exit-codes';
import { describeProgress } from './progress';

export interface Counts {
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  skipped: number;
}

export interface BatchDocument {
  batchId: string;
  workflowId: string;
  /** completed, cancelled, running; terminated, timed out or failed for a workflow ended from outside. */
  status: string;
  /** Unknown (null) when the workflow closed without a summary. */
  counts: Counts | null;
  manifest: string | null;
}

/** `status`'s and `watch`'s document: BatchDocument and what the workflow says beyond it. */
export interface WorkflowDocument extends BatchDocument {
  /** The last failures (at most 20). */
  failures: FailureNote[];
  outDir?: string | null;
  /** How a workflow closed without a summary. */
  reason?: string;
  progress?: BatchProgress;
}

/** The state of a batch as its workflow tells it: how it ended, or its progress while it runs. */
export type WorkflowState = BatchOutcome | { kind: 'running'; progress: BatchProgress };

interface Problem {
  id: string;
  status: string;
  error?: string | null;
}

const countsOf = ({ total, succeeded, failed, cancelled, skipped }: Counts): Counts => ({
  total,
  succeeded,
  failed,
  cancelled,
  skipped,
});

function manifestCounts(m: Manifest): Counts {
  const c = m.counts;
  return countsOf({
    total: m.items.length,
    succeeded: c.succeeded ?? 0,
    failed: c.failed ?? 0,
    cancelled: c.cancelled ?? 0,
    skipped: c.skipped ?? 0,
  });
}

const base = (batchId: string, status: string, counts: Counts | null, manifest: string | null): BatchDocument => ({
  batchId,
  workflowId: batchWorkflowId(batchId),
  status,
  counts,
  manifest,
});

/** `run`'s document: the batch's items as its manifest records them (counts from the summary without one). */
export function runDocument(batchId: string, outcome: BatchOutcome, batchDir: string, manifest?: Manifest) {
  const summary = outcome.kind === 'finished' ? countsOf(outcome.summary) : null;
  const counts = manifest ? manifestCounts(manifest) : summary;
  return {
    ...base(batchId, statusOf(outcome), counts, manifest ? batchFolder(batchDir).manifest : null),
    items: (manifest?.items ?? []).map((e) => ({
      id: e.id,
      status: e.status,
      // Manifest entries name their file relative to the batch folder.
      file: e.file ? path.join(batchDir, e.file) : null,
      sha256: e.sha256 ?? null,
      attempts: e.attempts,
      prompts: e.prompts,
      error: e.error ?? null,
      skipped: e.skipped ?? false,
    })),
  };
}

/** `status`'s and `watch`'s document. `manifest` names the manifest of a batch cancelled from outside. */
export function workflowDocument(batchId: string, state: WorkflowState, manifest?: string): WorkflowDocument {
  if (state.kind === 'running') {
    const p = state.progress;
    return { ...base(batchId, 'running', countsOf(p), null), failures: p.recentFailures, progress: p };
  }
  if (state.kind === 'finished') {
    const s = state.summary;
    return {
      ...base(batchId, s.status, countsOf(s), s.manifest),
      outDir: s.outDir ?? null,
      failures: s.failures ?? [],
    };
  }
  const status = statusOf(state);
  const reason = state.kind === 'closed' ? state.reason : undefined;
  return { ...base(batchId, status, null, manifest ?? null), failures: [], reason };
}

/** Prints the end of a batch worked in this process (run, retry of a finished batch); returns the exit code. */
export function reportRun(
  outcome: BatchOutcome,
  o: { json: boolean; batchId: string; batchDir: string; embedded: boolean },
) {
  if (outcome.kind === 'detached') return reportDetached(o);
  const doc = runDocument(o.batchId, outcome, o.batchDir, readManifest(o.batchDir));
  const problems = doc.items.filter((i) => i.status !== 'succeeded');
  print(doc, o.json, problems, outcome.kind === 'closed' ? outcome.reason : undefined);
  return exitCodeFor(doc);
}

/** Prints a batch as its workflow tells it (status, watch); returns the exit code. */
export function reportWorkflow(
  state: WorkflowState,
  o: { json: boolean; batchId: string; embedded: boolean; manifest?: string },
) {
  if (state.kind === 'detached') return reportDetached(o);
  const doc = workflowDocument(o.batchId, state, o.manifest);
  if (state.kind === 'running' && !o.json)
    console.log(`Batch ${o.batchId} running: ${describeProgress(state.progress)}`);
  else
    print(
      doc,
      o.json,
      doc.failures.map((f) => ({ id: f.itemId, status: 'failed', error: f.error })),
      doc.reason,
    );
  return exitCodeFor(doc);
}

function print(doc: BatchDocument, json: boolean, problems: Problem[], reason?: string): void {
  if (json) {
    process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    return;
  }
  const c = doc.counts;
  if (c)
    console.log(
      `Batch ${doc.batchId} ${doc.status}: ${c.succeeded} succeeded${c.skipped ? ` (${c.skipped} already there)` : ''}, ` +
        `${c.failed} failed, ${c.cancelled} cancelled.`,
    );
  else console.log(`Batch ${doc.batchId} ${doc.status}${reason ? `: ${reason}` : ''}.`);
  for (const p of problems.slice(0, 20)) console.log(`  ${p.id}: ${p.status}${p.error ? `: ${p.error}` : ''}`);
  if (doc.manifest) console.log(`Images and manifest: ${doc.manifest}`);
}

function reportDetached(o: { json: boolean; batchId: string; embedded: boolean }): number {
  const where = o.embedded
    ? `It is saved in the dev server's database; \`imagebatch worker\` resumes it and \`imagebatch watch ${o.batchId}\` follows it.`
    : `\`imagebatch watch ${o.batchId}\` follows it; a running \`imagebatch worker\` keeps it going.`;
  process.stderr.write(`Detached from batch ${o.batchId}. ${where}\n`);
  if (o.json) process.stdout.write(JSON.stringify(base(o.batchId, 'detached', null, null)) + '\n');
  return exitCodeFor({ status: 'detached', counts: null });
}

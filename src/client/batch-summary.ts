// A batch's summary: the one JSON document `--json` prints, the printed summary, and the exit code (exitCodeFor).
// `run` and `retry` work the batch in this process and read its manifest; `status` and `watch` read only the
// workflow, so they work from a machine that cannot see the output folder. Their documents share the fields of
// BatchDocument.
import fs from 'node:fs';
import path from 'node:path';
import { BATCH_FILES, batchFolder } from '../output/batch-folder';
import { imageOfEntry } from '../output/image-file';
import { type Manifest, readStoredManifest } from '../output/manifest';
import { isBucketLocation } from '../storage/batch-store';
import type { BatchProgress, FailureNote, HookOutcome, SubmissionBudget } from '../shared/batch-types';
import { outcomeHead, outcomeWords } from '../shared/batch-words';
import type { AccountWait } from './account-waits';
import { type RunningSplit, type StateCounts, stateCounts } from './image-states';
import { type BatchOutcome, statusOf } from './batch-outcome';
import { batchWorkflowId } from './batch-start';
import { exitCodeFor } from './exit-codes';
import { pullCommand } from './out-folder';
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
  /**
   * completed, cancelled, running; stopped (open, starting nothing more until it is resumed: `stopped` says why);
   * terminated, timed out or failed for a workflow ended from outside.
   */
  status: string;
  /** Unknown (null) when the workflow closed without a summary. */
  counts: Counts | null;
  manifest: string | null;
  /** Why nothing more starts although items wait (the budget is spent). */
  stopped?: string;
  /** The batch's submission budget while it is open, if it has one. */
  budget?: SubmissionBudget;
  /** The provider simulator made its images (absent for a real provider). */
  simulated?: true;
  /** An ended batch in words, never cleaner than it was: "completed with 2 failed: 8 of 10 succeeded". */
  outcome?: string;
  /** The items per state (queued, waiting for a slot, generating (fetching the image included), succeeded, failed, cancelled). */
  states?: StateCounts;
  /** How the completion hooks ended (a batch with any). */
  hooks?: HookOutcome[];
  /** A batch in a bucket: where its files are (`s3://BUCKET/PREFIX/<batch>`), and the command that copies them here. */
  files?: string;
  pull?: string;
}

/** A bucket batch's `files` and `pull` fields (none for a folder's: its manifest path says where it is). */
function bucketFields(location: string | undefined): Pick<BatchDocument, 'files' | 'pull'> {
  const pull = location && pullCommand(location);
  return location && pull ? { files: location, pull } : {};
}

/** `status`'s and `watch`'s document: BatchDocument and what the workflow says beyond it. */
export interface WorkflowDocument extends BatchDocument {
  /** The last failures (at most 20). */
  failures: FailureNote[];
  outDir?: string | null;
  /** How a workflow closed without a summary. */
  reason?: string;
  progress?: BatchProgress;
  /** The provider accounts of an open batch, and how many of its images wait for a slot of each. */
  accounts?: AccountWait[];
}

/** The state of a batch as its workflow tells it: how it ended, or its progress while it runs. */
export type WorkflowState = BatchOutcome | { kind: 'running'; progress: BatchProgress };

/** What an open batch's document says beyond its counts: why it stopped, its budget, its items per state. */
const openFields = (p: BatchProgress, split?: RunningSplit) => ({
  stopped: p.stopped,
  budget: p.budget,
  states: stateCounts(p, split),
});

/** An ended batch: its outcome in words and its items per state (nothing runs any more). */
const endFields = (status: string, c: Counts) => ({
  outcome: outcomeWords(status, c),
  states: stateCounts({ ...c, queued: Math.max(0, c.total - c.succeeded - c.failed - c.cancelled), running: 0 }),
});

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
export function runDocument(
  batchId: string,
  outcome: BatchOutcome,
  batchDir: string,
  manifest?: Manifest,
  simulated?: boolean,
) {
  const summary = outcome.kind === 'finished' ? countsOf(outcome.summary) : null;
  const counts = manifest ? manifestCounts(manifest) : summary;
  return {
    ...base(batchId, statusOf(outcome), counts, manifest ? manifestAt(batchDir) : null),
    ...bucketFields(batchDir),
    ...(simulated || manifest?.simulated ? { simulated: true as const } : {}),
    ...(outcome.kind === 'stopped' ? openFields(outcome.progress) : {}),
    ...(outcome.kind === 'finished' && counts ? endFields(outcome.summary.status, counts) : {}),
    ...(outcome.kind === 'finished' && outcome.summary.hooks ? { hooks: outcome.summary.hooks } : {}),
    items: (manifest?.items ?? []).map((e) => ({
      id: e.id,
      status: e.status,
      file: e.file ? imageOfEntry(batchDir, e.file) : null,
      sha256: e.sha256 ?? null,
      provider: e.provider,
      attempts: e.attempts,
      prompts: e.prompts,
      error: e.error ?? null,
      skipped: e.skipped ?? false,
      // Fallback: every provider tried and why it moved on (only when more than one was).
      ...(e.tried ? { tried: e.tried } : {}),
    })),
  };
}

/**
 * `status`'s and `watch`'s document. `manifest` names the manifest of a batch cancelled from outside or stopped;
 * `accounts` are the open batch's accounts.
 */
export function workflowDocument(
  batchId: string,
  state: WorkflowState,
  manifest?: string,
  accounts?: AccountWait[],
  split?: RunningSplit,
  location?: string,
): WorkflowDocument {
  if (state.kind === 'running' || state.kind === 'stopped') {
    const p = state.progress;
    return {
      ...base(batchId, state.kind, countsOf(p), manifest ?? null),
      ...bucketFields(location),
      ...openFields(p, split),
      failures: p.recentFailures,
      progress: p,
      accounts,
    };
  }
  if (state.kind === 'finished') {
    const s = state.summary;
    return {
      ...base(batchId, s.status, countsOf(s), s.manifest),
      ...bucketFields(location ?? s.outDir),
      ...endFields(s.status, countsOf(s)),
      ...(s.hooks ? { hooks: s.hooks } : {}),
      outDir: s.outDir ?? null,
      failures: s.failures ?? [],
    };
  }
  const status = statusOf(state);
  const reason = state.kind === 'closed' ? state.reason : undefined;
  return { ...base(batchId, status, null, manifest ?? null), ...bucketFields(location), failures: [], reason };
}

/**
 * Prints the end of a batch worked in this process (run, retry of a finished batch, resume), or where it stopped;
 * returns the exit code.
 */
export async function reportRun(
  outcome: BatchOutcome,
  o: { json: boolean; batchId: string; batchDir: string; embedded: boolean; simulated?: boolean },
) {
  if (outcome.kind === 'detached') return reportDetached(o);
  // A manifest that cannot be read (a bucket gone unreachable) leaves the counts the workflow gave.
  const manifest = await readStoredManifest(o.batchDir).catch(() => undefined);
  const doc = runDocument(o.batchId, outcome, o.batchDir, manifest, o.simulated);
  // The items a stopped batch has not run are counted in its headline, not listed.
  const problems = doc.items.filter((i) => i.status !== 'succeeded' && i.status !== 'queued');
  print(doc, o.json, problems, outcome.kind === 'closed' ? outcome.reason : undefined);
  return exitCodeFor(doc);
}

/** Prints a batch as its workflow tells it (status, watch); returns the exit code. */
export function reportWorkflow(
  state: WorkflowState,
  o: {
    json: boolean;
    batchId: string;
    embedded: boolean;
    manifest?: string;
    accounts?: AccountWait[];
    split?: RunningSplit;
    /** The batch's location (its input's outDir), when known. */
    location?: string;
  },
) {
  if (state.kind === 'detached') return reportDetached(o);
  const doc = workflowDocument(o.batchId, state, o.manifest, o.accounts, o.split, o.location);
  if (state.kind === 'running' && !o.json) {
    console.log(`Batch ${o.batchId} running: ${describeProgress(state.progress, o.accounts, o.split)}`);
    printPull(doc);
  } else
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
  if (doc.status === 'stopped' && c) console.log(stoppedHeadline(doc, c));
  else if (c)
    console.log(
      // "completed with 1 failed: ...": a batch with failures never reads like a clean success.
      `Batch ${doc.batchId} ${outcomeHead(doc.status, c)}: ${c.succeeded} succeeded${c.skipped ? ` (${c.skipped} already there)` : ''}, ` +
        `${c.failed} failed, ${c.cancelled} cancelled.`,
    );
  else console.log(`Batch ${doc.batchId} ${doc.status}${reason ? `: ${reason}` : ''}.`);
  for (const p of problems.slice(0, 20)) console.log(`  ${p.id}: ${p.status}${p.error ? `: ${p.error}` : ''}`);
  for (const h of doc.hooks ?? [])
    if (!h.ok) console.log(`Completion hook (${h.kind}) failed: ${h.error ?? 'unknown'}`);
  if (doc.simulated) console.log('Simulated: the images come from the provider simulator, not a real provider.');
  if (doc.manifest) console.log(`Images and manifest: ${doc.manifest}`);
  // The gallery sits beside the manifest (written with it, at the end of the batch); a bucket's is not looked for.
  if (doc.manifest && isBucketLocation(doc.manifest)) console.log(`Gallery: ${galleryBeside(doc.manifest)}`);
  else {
    const gallery = doc.manifest && batchFolder(path.dirname(doc.manifest)).gallery;
    if (gallery && fs.existsSync(gallery)) console.log(`Gallery: ${gallery}`);
  }
  printPull(doc);
}

/** A bucket batch's files are not on this machine: where they are, and how to copy them here. */
function printPull(doc: BatchDocument): void {
  if (doc.files && doc.pull) console.log(`Files: ${doc.files}/ (\`${doc.pull}\` copies them here)`);
}

/** The manifest of a batch at `location` (a path, or a bucket's URL). */
function manifestAt(location: string): string {
  return isBucketLocation(location) ? `${location}/${BATCH_FILES.manifest}` : batchFolder(location).manifest;
}

const galleryBeside = (manifestUrl: string) => manifestUrl.slice(0, -BATCH_FILES.manifest.length) + BATCH_FILES.gallery;

/** "Batch B stopped: <why>; 7 items not run. `imagebatch resume B --max-submissions N` (N above 10) continues it." */
function stoppedHeadline(doc: BatchDocument, c: Counts): string {
  const notRun = c.total - c.succeeded - c.failed - c.cancelled;
  const b = doc.budget;
  const resume =
    b && b.used + b.reserved >= b.max
      ? `\`imagebatch resume ${doc.batchId} --max-submissions N\` (N above ${b.used + b.reserved})`
      : `\`imagebatch resume ${doc.batchId}\``;
  const items = notRun === 1 ? 'item' : 'items';
  return `Batch ${doc.batchId} stopped: ${doc.stopped}; ${notRun} ${items} not run. ${resume} continues it.`;
}

function reportDetached(o: { json: boolean; batchId: string; embedded: boolean }): number {
  const where = o.embedded
    ? `It is saved in the dev server's database; \`imagebatch worker\` resumes it and \`imagebatch watch ${o.batchId}\` follows it.`
    : `\`imagebatch watch ${o.batchId}\` follows it; a running \`imagebatch worker\` keeps it going.`;
  process.stderr.write(`Detached from batch ${o.batchId}. ${where}\n`);
  if (o.json) process.stdout.write(JSON.stringify(base(o.batchId, 'detached', null, null)) + '\n');
  return exitCodeFor({ status: 'detached', counts: null });
}

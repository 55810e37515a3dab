// Recorded histories live in test/fixtures/histories. `RECORD_HISTORIES=1 npm test` rewrites them from real runs.
// Child workflow ids depend on the parent's id, so ids.json keeps each history's workflow id for replay.
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const HISTORIES_DIR = path.resolve(__dirname, '../fixtures/histories');
const IDS = path.join(HISTORIES_DIR, 'ids.json');

function ids(): Record<string, string> {
  return fs.existsSync(IDS) ? JSON.parse(fs.readFileSync(IDS, 'utf8')) : {};
}

export async function maybeRecordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  fs.writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), historyToJSON(history));
  fs.writeFileSync(IDS, JSON.stringify({ ...ids(), [name]: handle.workflowId }, null, 2) + '\n');
}

export function loadHistory(name: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, `${name}.json`), 'utf8'));
}

export function recordedWorkflowId(name: string): string | undefined {
  return ids()[name];
}

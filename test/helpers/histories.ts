// Recorded histories live in test/fixtures/histories/<major.minor>/, one folder per minor version (docs/upgrading.md
// says which are kept and why). `RECORD_HISTORIES=1` with the integration tests that record them rewrites the
// current version's folder from real runs. Child workflow ids depend on the parent's id, so each folder's ids.json
// keeps each history's workflow id for replay. The ping fixture's history (a test workflow, not the project's) is
// not versioned: it stays at the top.
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const HISTORIES_DIR = path.resolve(__dirname, '../fixtures/histories');
const UNVERSIONED = new Set(['ping']);

/** The project's minor version, `major.minor` of package.json: the folder new histories are recorded into. */
export function currentVersion(): string {
  const { version } = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'));
  return (version as string).split('.').slice(0, 2).join('.');
}

/** The version folders that hold recorded histories, oldest first. */
export function recordedVersions(): string[] {
  return fs
    .readdirSync(HISTORIES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** The names of the histories recorded at a version. */
export function recordedHistories(version: string): string[] {
  return fs
    .readdirSync(path.join(HISTORIES_DIR, version))
    .filter((f) => f.endsWith('.json') && f !== 'ids.json')
    .map((f) => f.replace(/\.json$/, ''))
    .sort();
}

function folderOf(name: string, version: string): string {
  return UNVERSIONED.has(name) ? HISTORIES_DIR : path.join(HISTORIES_DIR, version);
}

function ids(folder: string): Record<string, string> {
  const file = path.join(folder, 'ids.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
}

export async function maybeRecordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const folder = folderOf(name, currentVersion());
  fs.mkdirSync(folder, { recursive: true });
  const history = await handle.fetchHistory();
  fs.writeFileSync(path.join(folder, `${name}.json`), historyToJSON(history));
  const sorted = Object.fromEntries(Object.entries({ ...ids(folder), [name]: handle.workflowId }).sort());
  fs.writeFileSync(path.join(folder, 'ids.json'), JSON.stringify(sorted, null, 2) + '\n');
}

export function loadHistory(name: string, version = currentVersion()): unknown {
  return JSON.parse(fs.readFileSync(path.join(folderOf(name, version), `${name}.json`), 'utf8'));
}

export function recordedWorkflowId(name: string, version = currentVersion()): string | undefined {
  return ids(folderOf(name, version))[name];
}

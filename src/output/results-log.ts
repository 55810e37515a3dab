// The results log: the batch appends each item's result as it is reported, in groups. A retried append only
// repeats lines (a bucket's part, named from its lines, is put again); the latest record per item wins.
import { createHash } from 'node:crypto';
import { openStore } from '../storage/open-store';
import { BATCH_FILES } from './batch-folder';

import type { ResultRecord } from '../shared/batch-types';

export type { ResultRecord };

/** A group's part name: ordered by its first record's time, and the same for the same lines (a retried append). */
function partOf(first: ResultRecord, text: string): string {
  const at = String(Math.max(0, Math.floor(first.at))).padStart(15, '0');
  return `${at}-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

export async function appendResults(dir: string, results: ResultRecord[]): Promise<void> {
  if (!results.length) return;
  const lines = results.map((r) => JSON.stringify(r));
  await openStore(dir).appendLines(BATCH_FILES.resultsLog, lines, partOf(results[0], lines.join('\n')));
}

/** The latest result of each item in the log (by workflow time, then order in the batch). */
export async function latestResults(dir: string): Promise<Map<string, ResultRecord>> {
  const latest = new Map<string, ResultRecord>();
  for (const line of await openStore(dir).readLines(BATCH_FILES.resultsLog)) {
    let r: ResultRecord;
    try {
      r = JSON.parse(line);
    } catch {
      continue; // a line cut by a crash mid-append; its retry wrote it whole
    }
    const prev = latest.get(r.itemId);
    if (!prev || r.at > prev.at || (r.at === prev.at && r.seq >= prev.seq)) latest.set(r.itemId, r);
  }
  return latest;
}

// The results log: the batch appends each item's result as it is reported, in groups. A retried append only
// repeats lines; the latest record per item wins.
import fs from 'node:fs';
import { batchFolder } from './batch-folder';
import { appendToFile, ownFolder } from './safe-write';

import type { ResultRecord } from '../shared/batch-types';

export type { ResultRecord };

export async function appendResults(dir: string, results: ResultRecord[]): Promise<void> {
  if (!results.length) return;
  const folder = batchFolder(dir);
  ownFolder(folder.stateDir);
  await appendToFile(folder.resultsLog, results.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

/** The latest result of each item in the log (by workflow time, then order in the batch). */
export async function latestResults(dir: string): Promise<Map<string, ResultRecord>> {
  const latest = new Map<string, ResultRecord>();
  const text = await fs.promises.readFile(batchFolder(dir).resultsLog, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
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

// A Batch API batch's jobs in words, for status and watch: " · jobs: batch_6f… in_progress 40/100 (2 failed), …".
import type { BatchProgress } from '../shared/batch-types';

/** Jobs shown at most; the rest are counted. */
const SHOWN = 5;

export function batchJobWords(p: BatchProgress): string {
  const jobs = p.batchJobs ?? [];
  if (!jobs.length) return '';
  const one = (j: (typeof jobs)[number]) =>
    `${j.jobId ?? j.workflowId.split('/').at(-1)} ${j.status} ${j.completed + j.failed}/${j.lines}` +
    `${j.failed ? ` (${j.failed} failed)` : ''}`;
  const more = jobs.length > SHOWN ? `, ${jobs.length - SHOWN} more` : '';
  return ` · ${jobs.length === 1 ? 'job' : 'jobs'}: ${jobs.slice(-SHOWN).map(one).join(', ')}${more}`;
}

// A Batch API job's lines at its end: which items end, which go into the next job (and how), matched by custom_id.
import { describe, expect, it } from 'vitest';
import type { JobLine, LineOutcome } from '../../src/shared/batch-api';
import { settleLines } from '../../src/workflows/batch-api-lines';

const line = (id: string, prompt = `a harbour ${id}`, more: Partial<JobLine> = {}): JobLine => ({
  item: { id, prompt } as JobLine['item'],
  prompt,
  prompts: [prompt],
  attempts: 0,
  tasks: 0,
  simplificationsLeft: 2,
  retriesLeft: 3,
  ...more,
});
const stored = { file: '/out/b/x.png', sha256: 'aa', bytes: 10, mime: 'image/png' };
const end = { jobId: 'batch_1', model: 'gpt-image-1', round: 0, cancelled: false };

describe('settleLines', () => {
  it('matches outcomes by custom_id, not order: images succeed, each line billed once', () => {
    const lines = [line('a'), line('b')];
    const outcomes: LineOutcome[] = [
      { customId: 'L1_b', stored: { ...stored, file: '/out/b/b.png' } },
      { customId: 'L0_a', stored: { ...stored, file: '/out/b/a.png' } },
    ];
    const s = settleLines(lines, ['L0_a', 'L1_b'], outcomes, {}, end, false);
    expect(s.results.map((r) => [r.itemId, r.file, r.tasks, r.status, r.batchApi])).toEqual([
      ['a', '/out/b/a.png', 1, 'succeeded', true],
      ['b', '/out/b/b.png', 1, 'succeeded', true],
    ]);
    expect(s.again).toEqual([]);
  });

  it('moderation: simplified into the next job by default, or one by one; refused when it cannot be simplified', () => {
    const blocked: LineOutcome = { customId: 'L0_a', errorType: 'ContentRejected', error: 'moderation_blocked' };
    const l = line('a', '血腥 的 战场, a castle at dusk');
    const next = settleLines([l], ['L0_a'], [blocked], {}, end, false);
    expect(next.results).toEqual([]);
    expect(next.again).toHaveLength(1);
    expect(next.again[0].prompt).not.toBe(l.prompt);
    expect(next.again[0]).toMatchObject({
      prompts: [l.prompt, next.again[0].prompt],
      attempts: 1,
      tasks: 0,
      simplificationsLeft: 1,
    });
    const one = settleLines([l], ['L0_a'], [blocked], {}, end, true);
    expect(one.individually).toHaveLength(1);
    expect(one.again).toEqual([]);
    const spent = settleLines([line('a', 'x', { simplificationsLeft: 0 })], ['L0_a'], [blocked], {}, end, false);
    expect(spent.results[0]).toMatchObject({ status: 'failed', errorType: 'ContentRejected' });
  });

  it('rate-limited and expired lines go into the next job, unbilled; an invalid one fails with its reason', () => {
    const outcomes: LineOutcome[] = [
      { customId: 'L0_a', errorType: 'RateLimited', error: '429' },
      { customId: 'L1_b', dropped: 'expired' },
      { customId: 'L2_c', errorType: 'InvalidRequest', error: "Invalid size '7x7'" },
    ];
    const s = settleLines([line('a'), line('b'), line('c')], ['L0_a', 'L1_b', 'L2_c'], outcomes, {}, end, false);
    expect(s.again.map((l) => [l.item.id, l.tasks])).toEqual([
      ['a', 0],
      ['b', 0],
    ]);
    expect(s.results).toEqual([
      expect.objectContaining({ itemId: 'c', status: 'failed', error: "Invalid size '7x7'" }),
    ]);
  });

  it('a cancelled job: lines it dropped are cancelled, not sent again; a budget share spent stops a line', () => {
    const dropped: LineOutcome = { customId: 'L0_a', dropped: 'cancelled' };
    const c = settleLines([line('a')], ['L0_a'], [dropped], {}, { ...end, cancelled: true }, false);
    expect(c.results[0]).toMatchObject({ status: 'cancelled' });
    expect(c.again).toEqual([]);
    const limited: LineOutcome = { customId: 'L0_a', errorType: 'Transient', error: '500' };
    const b = settleLines([line('a', 'x', { tasks: 1, maxSubmissions: 1 })], ['L0_a'], [limited], {}, end, false);
    expect(b.results[0]).toMatchObject({ status: 'cancelled', errorType: 'BudgetReached' });
  });

  it('an image already on disk is skipped: nothing sent, nothing billed', () => {
    const s = settleLines([line('a')], ['L0_a'], [], { L0_a: stored }, end, false);
    expect(s.results[0]).toMatchObject({ status: 'succeeded', skipped: true, tasks: 0, file: stored.file });
  });
});

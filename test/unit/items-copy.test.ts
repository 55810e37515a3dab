// A batch too large to travel inline is paged in by an activity whose result must stay well under Temporal's 2 MB
// payload limit, whatever the size of its items.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { itemsSourceFor, PAGE_LIMIT_BYTES, PAGE_SIZE, pageSizeFor } from '../../src/output/items-copy';

describe('the items copy', () => {
  it('pages small items 500 at a time, and large ones so that a page stays under the limit', () => {
    expect(pageSizeFor(['{"id":"a","prompt":"p"}'])).toBe(PAGE_SIZE);
    const large = JSON.stringify({ id: 'a', prompt: 'x'.repeat(99_000) });
    const size = pageSizeFor([large, '{"id":"b","prompt":"p"}']);
    expect(size * Buffer.byteLength(large)).toBeLessThanOrEqual(PAGE_LIMIT_BYTES);
    expect(size).toBeGreaterThanOrEqual(1);
  });

  it('writes 25 items of 99 KB to the copy with a page size that fits', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-copy-'));
    const items = Array.from({ length: 25 }, (_, i) => ({ id: `i${i}`, prompt: 'y'.repeat(99_000) }));
    const source = itemsSourceFor(items, dir);
    expect(source.kind).toBe('file');
    if (source.kind !== 'file') return;
    expect(source.pageSize * 99_000).toBeLessThanOrEqual(PAGE_LIMIT_BYTES);
  });
});

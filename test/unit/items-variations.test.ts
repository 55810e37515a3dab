// Variations (`n`, `seeds`): one item per variant with its own id, group, number and seed; drawn seeds recorded;
// ids that cannot be made or collide refused before anything starts.
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ItemsFileError, readItemsFile } from '../../src/items/reader';
import { expandVariations } from '../../src/items/variations';
import type { ImageItem } from '../../src/shared/types';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-variations-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

function write(lines: object[]): string {
  const file = path.join(dir, `v${++n}.jsonl`);
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}
const read = (lines: object[]) => readItemsFile(write(lines)).items;
function problems(lines: object[]): string[] {
  try {
    read(lines);
    return [];
  } catch (err) {
    if (err instanceof ItemsFileError) return err.problems;
    throw err;
  }
}
const item = (o: Partial<ImageItem>): ImageItem => ({ id: 'cat', prompt: 'a cat', ...o });

describe('expandVariations', () => {
  it('n with a seed: seed, seed+1, ... with ids <id>-<k>, the group and the number; n and seeds are gone', () => {
    const r = expandVariations(item({ n: 3, seed: 10, width: 512, height: 512 }));
    expect(r).toEqual({
      items: [1, 2, 3].map((k) => ({
        id: `cat-${k}`,
        prompt: 'a cat',
        width: 512,
        height: 512,
        group: 'cat',
        variant: k,
        seed: 9 + k,
      })),
    });
  });

  it('seeds: one variant per seed, in order; with n of the same length too', () => {
    for (const extra of [{}, { n: 2 }]) {
      const r = expandVariations(item({ seeds: [7, 3], ...extra }));
      expect('items' in r && r.items.map((i) => [i.id, i.seed, i.variant])).toEqual([
        ['cat-1', 7, 1],
        ['cat-2', 3, 2],
      ]);
    }
  });

  it('no seed, or -1: each variant draws one, which is recorded in the item', () => {
    let next = 100;
    for (const seed of [undefined, -1]) {
      const r = expandVariations(item({ n: 2, seed }), () => next++);
      expect('items' in r && r.items.map((i) => i.seed)).toEqual([next - 2, next - 1]);
    }
  });

  it('drawn seeds are 0..2^31-1 and differ between variants', () => {
    const r = expandVariations(item({ n: 16 }));
    const seeds = 'items' in r ? r.items.map((i) => i.seed!) : [];
    expect(seeds).toHaveLength(16);
    for (const s of seeds) expect(s >= 0 && s <= 2147483647 && Number.isInteger(s)).toBe(true);
    expect(new Set(seeds).size).toBeGreaterThan(1);
  });

  it('n: 1 is a plain item (same id, no group, its seed untouched); seeds: [s] a plain item with seed s', () => {
    expect(expandVariations(item({ n: 1 }))).toEqual({ items: [{ id: 'cat', prompt: 'a cat' }] });
    expect(expandVariations(item({ seeds: [5] }))).toEqual({ items: [{ id: 'cat', prompt: 'a cat', seed: 5 }] });
  });

  it('an item without n or seeds is itself', () => {
    const plain = item({ seed: 4 });
    expect(expandVariations(plain)).toEqual({ items: [plain] });
  });

  it.each([
    [{ n: 3, seeds: [1, 2] }, 'seeds', 'has 2 seeds but n is 3'],
    [{ seeds: [1, 2], seed: 5 }, 'seed', 'not both'],
    [{ n: 3, seed: 2147483646 }, 'seed', 'seed + n - 1 is over 2147483647'],
    [{ n: 2, id: 'x'.repeat(127) }, 'id', 'is over 128 characters'],
    [{ n: 2, group: 'g', variant: 1 }, 'n', 'is not expanded again'],
  ])('%j is refused (%s)', (o, field, message) => {
    const r = expandVariations(item(o as Partial<ImageItem>));
    expect('problems' in r && r.problems).toEqual([{ field, message: expect.stringContaining(message) }]);
  });
});

describe('the reader expands variations', () => {
  it('writes every variant as its own item with its default name from its id', () => {
    const items = read([
      { id: 'a', prompt: 'a cat', n: 2, seed: 1 },
      { id: 'b', prompt: 'a dog' },
    ]);
    expect(items.map((i) => [i.id, i.group, i.variant, i.seed, i.filename])).toEqual([
      ['a-1', 'a', 1, 1, undefined],
      ['a-2', 'a', 2, 2, undefined],
      ['b', undefined, undefined, undefined, undefined],
    ]);
    expect(items.every((i) => !('n' in i) && !('seeds' in i))).toBe(true);
  });

  it("a variant id that is another item's id is refused naming both lines", () => {
    const p = problems([
      { id: 'a', prompt: 'x', n: 2 },
      { id: 'a-2', prompt: 'y' },
    ]);
    expect(p).toEqual([
      expect.stringMatching(/v\d+\.jsonl:2: id: 'a-2' is used already \(at line 1, a variant of 'a'\)/),
    ]);
    const q = problems([
      { id: 'a-1', prompt: 'y' },
      { id: 'a', prompt: 'x', n: 2 },
    ]);
    expect(q).toEqual([expect.stringMatching(/:2: id: 'a-1' \(a variant of 'a'\) is used already \(at line 1\)/)]);
  });

  it('n with seeds of another length is exit 2 with the line', () => {
    expect(problems([{ prompt: 'x' }, { prompt: 'y', n: 2, seeds: [1] }])).toEqual([
      expect.stringMatching(/:2: seeds: has 1 seeds but n is 2/),
    ]);
  });

  it('one plain filename for several variants: each gets -<k>', () => {
    const items = read([{ id: 'a', prompt: 'x', n: 2, filename: 'cover.webp' }]);
    expect(items.map((i) => i.filename)).toEqual(['cover-1.webp', 'cover-2.webp']);
  });
});

// The items limit counts images, not lines: each of an item's `n` or `seeds` is one, counted before any item is
// expanded into its variants, and the line that goes over is named.
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { entryOverImageLimit, MAX_ITEMS } from '../../src/items/parse';
import { ItemsFileError, readItemsFile } from '../../src/items/reader';
import { rejectionOf } from '../helpers/failures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-image-limit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function itemsFile(name: string, lines: number, n: number): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `{"prompt":"a kite","n":${n}}\n`.repeat(lines));
  return file;
}

describe('the image limit', () => {
  it('refuses 62,501 lines of n: 16 (1,000,016 images) naming the file and the line that goes over', async () => {
    const file = itemsFile('over.jsonl', 62_501, 16);
    const err = await rejectionOf(
      Promise.resolve().then(() => readItemsFile(file)),
      ItemsFileError,
    );
    expect(err.problems).toEqual([
      `${file}:62501: brings the batch to over ${MAX_ITEMS} images (each of n or seeds is one): split the file`,
    ]);
  });

  it('counts each of n or seeds as one image, and a plain item as one, up to the limit and not over', () => {
    const entries = [{ n: 3 }, { seeds: [1, 2] }, { prompt: 'x' }, { n: 'bad' }, { n: 2 }].map((value, i) => ({
      line: i + 1,
      value,
      defaultId: String(i + 1),
    }));
    expect(entryOverImageLimit(entries, 9)).toBeUndefined();
    expect(entryOverImageLimit(entries, 8)?.line).toBe(5);
    expect(entryOverImageLimit(entries, 2)?.line).toBe(1);
  });

  it('reads a file under the limit with its variants expanded', () => {
    expect(readItemsFile(itemsFile('under.jsonl', 3, 16)).items).toHaveLength(48);
  });
});

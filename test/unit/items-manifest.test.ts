// A manifest read back as items: every entry becomes the item it was made from (same request fields, the seed that
// made its image), variants are not expanded again, and --only picks entries by how they ended.
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ItemsFileError, type ItemsOptions, readItemsFile } from '../../src/items/reader';
import { UsageError } from '../../src/client/exit-codes';
import { buildManifest, type Manifest } from '../../src/output/manifest';
import { requestsFor } from '../../src/output/manifest-request';
import type { ResultRecord } from '../../src/shared/batch-types';
import type { ImageItem } from '../../src/shared/types';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-manifest-items-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

const source = [
  {
    id: 'full',
    prompt: 'a red kite --ar 16:9',
    negativePrompt: 'blur',
    width: 768,
    height: 512,
    seed: 11,
    style: 'ink',
    model: 'wanx2.1-t2i-plus',
    provider: 'dashscope',
    params: { prompt_extend: false },
    policy: { retries: 1 },
    filename: '{id}-{seed}.png',
  },
  { id: 'var', prompt: 'a cat', n: 2 },
  { id: 'plain', prompt: 'a dog' },
  { id: 'random', prompt: 'a fox', seed: -1 },
  { id: 'gore', prompt: 'a gore scene' },
];

function itemsFile(): string {
  const file = path.join(dir, `src${++n}.jsonl`);
  fs.writeFileSync(file, source.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

const result = (id: string, o: Partial<ResultRecord>): ResultRecord => ({
  itemId: id,
  status: 'succeeded',
  provider: 'volcengine',
  attempts: 1,
  prompts: ['p'],
  at: 1,
  seq: 1,
  ...o,
});

/** A batch of the source items with results, and its manifest as written to `<folder>/manifest.json`. */
function batchManifest(items: ImageItem[]): { manifest: Manifest; file: string } {
  const batch = path.join(dir, `b${++n}`);
  fs.mkdirSync(batch);
  const latest = new Map<string, ResultRecord>([
    ['full', result('full', { provider: 'dashscope', model: 'wanx2.1-t2i-plus', seed: 11, prompts: ['a red kite'] })],
    // The worker moved to another seed on a retry: that seed made the image.
    ['var-1', result('var-1', { seed: 999, model: 'jimeng_t2i_v40' })],
    ['plain', result('plain', { status: 'cancelled', model: 'jimeng_t2i_v40' })],
    ['random', result('random', { seed: 1234, model: 'jimeng_t2i_v40' })],
    ['gore', result('gore', { status: 'failed', prompts: ['a gore scene', 'a scene'], error: 'moderation' })],
    // var-2 has no result: the batch was cancelled before it started.
  ]);
  const manifest = buildManifest({
    dir: batch,
    batchId: 'b',
    ids: items.map((i) => i.id),
    latest,
    cancelled: true,
    provider: 'volcengine',
    requests: requestsFor(items),
    now: new Date(),
  });
  const file = path.join(batch, 'manifest.json');
  fs.writeFileSync(file, JSON.stringify(manifest, null, 2));
  return { manifest, file };
}

function problems(file: string, o: ItemsOptions = {}): string[] {
  try {
    readItemsFile(file, o);
    return [];
  } catch (err) {
    if (err instanceof ItemsFileError) return err.problems;
    throw err;
  }
}

describe('a manifest round trip', () => {
  const first = readItemsFile(itemsFile(), { batchId: 'b' }).items;
  const { file } = batchManifest(first);
  const again = readItemsFile(file).items;

  it('gives the same items, with the seed that made each image', () => {
    const seedsThatMade: Record<string, number | undefined> = { 'var-1': 999, random: 1234 };
    expect(again).toEqual(
      first.map((item) => {
        const expected = { ...item, seed: seedsThatMade[item.id] ?? item.seed };
        if (expected.seed === undefined || expected.seed < 0) delete expected.seed;
        return expected;
      }),
    );
  });

  it('keeps every request field, the rendered filename and the variants as they were (not expanded again)', () => {
    expect(again[0]).toMatchObject({
      id: 'full',
      prompt: 'a red kite --ar 16:9',
      negativePrompt: 'blur',
      width: 768,
      height: 512,
      seed: 11,
      style: 'ink',
      model: 'wanx2.1-t2i-plus',
      provider: 'dashscope',
      params: { prompt_extend: false },
      policy: { retries: 1 },
      filename: 'full-11.png',
    });
    expect(again.filter((i) => i.group === 'var').map((i) => [i.id, i.variant])).toEqual([
      ['var-1', 1],
      ['var-2', 2],
    ]);
    // The model that served an item is not asked for when the item did not ask for one.
    expect(again.find((i) => i.id === 'plain')).toEqual({ id: 'plain', prompt: 'a dog' });
  });

  it('a manifest read again with --filename keeps the names items had, and names the others', () => {
    const named = readItemsFile(file, { filename: 'x-{id}.png' }).items.map((i) => i.filename);
    expect(named).toEqual(['full-11.png', 'x-var-1.png', 'x-var-2.png', 'x-plain.png', 'x-random.png', 'x-gore.png']);
  });

  it.each([
    ['failed', ['gore']],
    ['cancelled', ['var-2', 'plain']],
    ['succeeded', ['full', 'var-1', 'random']],
    ['simplified', ['gore']],
    ['failed,cancelled', ['var-2', 'plain', 'gore']],
  ])('--only %s picks %j', (only, ids) => {
    expect(readItemsFile(file, { only }).items.map((i) => i.id)).toEqual(ids);
  });

  it('--only that picks nothing, or names no status, is exit 2', () => {
    const done = batchManifest(first.filter((i) => i.id === 'full')).file;
    expect(problems(done, { only: 'failed' })).toEqual([`${done}: no entry is failed (--only)`]);
    expect(() => readItemsFile(file, { only: 'broken' })).toThrow(UsageError);
  });

  it('--only with an items file is exit 2: it needs a manifest', () => {
    expect(() => readItemsFile(itemsFile(), { only: 'failed' })).toThrow(/--only picks entries of a manifest\.json/);
  });

  it("problems name the entry's place in the manifest", () => {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
    m.items[2].width = 3;
    m.items[4].id = m.items[0].id;
    const bad = path.join(dir, 'edited', 'manifest.json');
    fs.mkdirSync(path.dirname(bad));
    fs.writeFileSync(bad, JSON.stringify(m));
    expect(problems(bad)).toEqual([
      `${bad} item 3: width: Too small: expected number to be >=64`,
      `${bad} item 5: id: 'full' is used already (at item 1)`,
    ]);
  });

  it('any .json that is an object with items is read as a manifest; an object without is refused', () => {
    const other = path.join(dir, 'renamed.json');
    fs.copyFileSync(file, other);
    expect(readItemsFile(other).items).toHaveLength(6);
    fs.writeFileSync(other, '{"prompt": "x"}');
    expect(problems(other)).toEqual([
      expect.stringContaining('expected a JSON array of items, or an imagebatch manifest'),
    ]);
  });

  it('a manifest written before entries carried requests still gives the original prompt and the seed', () => {
    const old = path.join(dir, 'old.json');
    const entries = [
      {
        id: 'a',
        status: 'succeeded',
        file: 'a.png',
        provider: 'volcengine',
        attempts: 1,
        prompts: ['a cat', 'cat'],
        seed: 3,
      },
    ];
    fs.writeFileSync(old, JSON.stringify({ batchId: 'o', writtenAt: '', counts: {}, items: entries }));
    expect(readItemsFile(old).items).toEqual([{ id: 'a', prompt: 'a cat', seed: 3 }]);
  });
});

// Filename templates: each placeholder, zero padding, rendering into every item's filename at read time, and names
// that collide or leave the output folder refused before anything starts, with their lines.
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderTemplate, type TemplateValues } from '../../src/items/filename-template';
import { ItemsFileError, type ItemsOptions, readItemsFile } from '../../src/items/reader';
import { UsageError } from '../../src/client/exit-codes';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-template-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

function write(lines: object[]): string {
  const file = path.join(dir, `t${++n}.jsonl`);
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}
const names = (lines: object[], o: ItemsOptions = {}) =>
  readItemsFile(write(lines), { batchId: 'b1', ...o }).items.map((i) => i.filename);
function problems(lines: object[], o: ItemsOptions = {}): string[] {
  try {
    names(lines, o);
    return [];
  } catch (err) {
    if (err instanceof ItemsFileError) return err.problems;
    throw err;
  }
}

const values: TemplateValues = {
  batch: 'b1',
  id: 'cat',
  k: 2,
  seed: 42,
  provider: 'dashscope',
  model: 'wanx2.1-t2i-turbo',
  index: 7,
};
const render = (t: string, v: Partial<TemplateValues> = {}) => renderTemplate(t, { ...values, ...v });

describe('renderTemplate', () => {
  it.each([
    ['{batch}.png', 'b1.png'],
    ['{id}.png', 'cat.png'],
    ['{k}.png', '2.png'],
    ['{seed}.png', '42.png'],
    ['{provider}.png', 'dashscope.png'],
    ['{model}.png', 'wanx2.1-t2i-turbo.png'],
    ['{index}.png', '7.png'],
    ['{index:04}-{id}-{k:02}.jpg', '0007-cat-02.jpg'],
    ['{seed:03}.png', '42.png'.padStart(7, '0')],
  ])('%s renders %s', (t, name) => expect(render(t)).toEqual({ name }));

  it('an absent seed or model renders empty (and is not padded)', () => {
    expect(render('{id}-{seed:04}{model}.png', { seed: undefined, model: undefined })).toEqual({ name: 'cat-.png' });
  });

  it('a value cannot bring a separator: a model such as fal-ai/flux/dev becomes fal-ai_flux_dev', () => {
    expect(render('{model}.png', { model: 'fal-ai/flux/dev' })).toEqual({ name: 'fal-ai_flux_dev.png' });
  });

  it.each([['../{id}.png'], ['{id}/../x.png'], ['sub/{id}.png'], ['{id}\\x.png'], ['..{id}.png']])(
    '%s leaves the output folder: refused',
    (t) => {
      expect(render(t)).toEqual({ problem: expect.stringContaining('which leaves the output folder') });
    },
  );

  it('a model value of .. cannot escape either', () => {
    expect(render('{model}', { model: '..' })).toEqual({
      problem: expect.stringContaining('leaves the output folder'),
    });
  });

  it.each([['{prompt}.png'], ['{id:4}.png'], ['{ID}.png'], ['{}.png'], ['{id.png'], ['id}.png']])(
    '%s is refused (unknown placeholder or unmatched brace)',
    (t) => expect(render(t)).toEqual({ problem: expect.stringMatching(/unknown placeholder|does not close/) }),
  );
});

describe('--filename and item templates at read time', () => {
  it('--filename names the items without a name of their own; an item template wins; index counts variants', () => {
    const got = names(
      [
        { id: 'a', prompt: 'x', n: 2, seed: 5 },
        { id: 'b', prompt: 'y', filename: 'fixed.png' },
        { id: 'c', prompt: 'z', filename: '{batch}-{id}.webp' },
        { id: 'd', prompt: 'w', provider: 'dashscope', model: 'm1' },
      ],
      { filename: '{index:03}-{id}-{k}-{seed}-{provider}-{model}.png', batch: { provider: 'volcengine' } },
    );
    expect(got).toEqual([
      '001-a-1-1-5-volcengine-.png',
      '002-a-2-2-6-volcengine-.png',
      'fixed.png',
      'b1-c.webp',
      '005-d-1--dashscope-m1.png',
    ]);
  });

  it("an item's list of providers renders its first", () => {
    expect(names([{ id: 'a', prompt: 'x', provider: ['fal', 'openai'] }], { filename: '{provider}.png' })).toEqual([
      'fal.png',
    ]);
  });

  it('variants of a template that does not tell them apart get -<k>', () => {
    expect(names([{ id: 'a', prompt: 'x', n: 2, model: 'm' }], { filename: '{model}.png' })).toEqual([
      'm-1.png',
      'm-2.png',
    ]);
  });

  it('the rendered name must still be a .png/.jpg/.jpeg/.webp name', () => {
    expect(problems([{ prompt: 'x', filename: '{id}.gif' }])).toEqual([
      expect.stringMatching(/:1: filename: '\{id\}\.gif' renders '1\.gif', which must end in \.png/),
    ]);
  });

  it('two items rendering the same name are refused naming both lines, also when only case differs', () => {
    const p = problems(
      [
        { id: 'a', prompt: 'x', model: 'M' },
        { id: 'b', prompt: 'y' },
        { id: 'c', prompt: 'z', model: 'm' },
      ],
      { filename: '{model}.png' },
    );
    expect(p).toEqual([
      expect.stringMatching(/t\d+\.jsonl:3: filename: 'm\.png' is the same file as line 1's 'M\.png'/),
    ]);
  });

  it("a rendered name equal to another item's default name collides too", () => {
    const p = problems([
      { id: 'x', prompt: 'x' },
      { id: 'y', prompt: 'y', filename: '{k}{id}.png' },
      { id: '1y', prompt: 'z' },
    ]);
    expect(p).toEqual([
      expect.stringMatching(/:3: id: '1y\.png' \(its default file name\) is the same file as line 2's '1y\.png'/),
    ]);
  });

  it('an item template that leaves the folder is refused with its line', () => {
    expect(problems([{ prompt: 'ok' }, { prompt: 'x', filename: '../{id}.png' }])).toEqual([
      expect.stringMatching(/:2: filename: '\.\.\/\{id\}\.png' renders '\.\.\/2\.png', which leaves the output folder/),
    ]);
    expect(problems([{ prompt: 'x', filename: '{nope}.png' }])).toEqual([
      expect.stringMatching(/:1: filename: '\{nope\}\.png' unknown placeholder \{nope\}/),
    ]);
  });

  it.each([['../{id}.png'], ['{id}/{k}.png'], ['{nope}.png'], ['{id}']])(
    'a --filename of %s is a usage error before any item is read',
    (t) => {
      expect(() => names([{ prompt: 'x' }], { filename: t })).toThrow(UsageError);
    },
  );
});

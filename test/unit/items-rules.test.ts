// The items reader's pure rules (no server): reserved request keys, width and height together, a prompt that
// survives cleaning, colliding output names, strict UTF-8, policy bounds, and text that is safe to print.
import { describe, expect, it } from 'vitest';
import { printable, stripControls } from '../../src/items/errors';
import { decodeItemsText } from '../../src/items/decode';
import { itemRuleProblems, nameCollisions } from '../../src/items/rules';
import { buildDashscopeBody } from '../../src/providers/dashscope/client';
import { buildVolcengineSubmitBody } from '../../src/providers/volcengine/client';
import { ItemSchema, PolicySchema } from '../../src/shared/item-schema';
import type { ImageItem, ProviderKind } from '../../src/shared/types';

const item = (o: Partial<ImageItem>): ImageItem => ({ id: '1', prompt: 'a cat', ...o });
const VOLC = { provider: 'volcengine' } as const;
const fields = (o: Partial<ImageItem>, provider: ProviderKind = 'volcengine') =>
  itemRuleProblems(item(o), { provider }).map((p) => p.field);

describe('params may not set what imagebatch sets', () => {
  it.each(['prompt', 'req_key', 'force_single', 'negative_prompt', 'width', 'seed', 'return_url', 'image_urls'])(
    'volcengine %s is refused, naming the key',
    (key) => {
      const problems = itemRuleProblems(item({ params: { [key]: 'x', scale: 3 } }), VOLC);
      expect(problems).toEqual([{ field: `params.${key}`, message: expect.stringMatching(/set by imagebatch/) }]);
    },
  );

  it.each(['model', 'input', 'n', 'size', 'prompt'])('dashscope %s is refused', (key) => {
    expect(fields({ params: { [key]: 4 } }, 'dashscope')).toEqual([`params.${key}`]);
    expect(fields({ provider: 'dashscope', params: { [key]: 4 } }, 'volcengine')).toEqual([`params.${key}`]);
  });

  it('says which item field to use instead, or why the key is fixed', () => {
    const [model] = itemRuleProblems(item({ params: { req_key: 'x' } }), VOLC);
    expect(model.message).toMatch(/use the item's model/);
    const [single] = itemRuleProblems(item({ params: { force_single: false } }), VOLC);
    expect(single.message).toMatch(/one image per task/);
  });

  it('accepts other keys, including names an object has by inheritance', () => {
    expect(fields({ params: { scale: 3, logo_info: {}, constructor: 1, toString: 2 } })).toEqual([]);
    expect(fields({ params: { watermark: false, req_key: 'x' } }, 'dashscope')).toEqual([]);
  });

  it('the body builders let imagebatch win even over params that got through', () => {
    const volc = buildVolcengineSubmitBody({
      prompt: 'mine',
      params: { prompt: 'theirs', req_key: 'other', force_single: false, negative_prompt: 'n', scale: 3 },
    });
    expect(volc).toMatchObject({ prompt: 'mine', req_key: 'jimeng_t2i_v40', force_single: true, scale: 3 });
    expect(volc).not.toHaveProperty('negative_prompt');
    const dash = buildDashscopeBody({ prompt: 'mine', params: { n: 4, model: 'x', input: {}, watermark: false } });
    expect(dash).toEqual({
      model: 'wanx2.1-t2i-turbo',
      input: { prompt: 'mine' },
      parameters: { n: 1, watermark: false },
    });
  });
});

describe('truth at validation', () => {
  it('width without height (and the reverse) is a problem, both or neither is not', () => {
    expect(fields({ width: 512 })).toEqual(['height']);
    expect(fields({ height: 512 })).toEqual(['width']);
    expect(fields({ width: 512, height: 512 })).toEqual([]);
  });

  it('a prompt of only Midjourney flags is empty once cleaned', () => {
    expect(fields({ prompt: '--ar 16:9 --v 6' })).toEqual(['prompt']);
    expect(fields({ prompt: 'a cat --ar 16:9' })).toEqual([]);
  });

  it.each([2 ** 53, 1e308, 86_400_001])('policy times are at most 24 hours (%s is refused)', (ms) => {
    for (const key of ['expectedLatencyMs', 'pollIntervalMs', 'maxWaitMs']) {
      const r = PolicySchema.partial().safeParse({ [key]: ms });
      expect(r.success).toBe(false);
      expect(r.error?.issues[0].message).toMatch(/at most 86400000 \(24 hours\)/);
    }
    expect(PolicySchema.partial().safeParse({ maxWaitMs: 86_400_000 }).success).toBe(true);
  });

  it('the schema still takes a whole item', () => {
    expect(ItemSchema.safeParse({ prompt: 'x', policy: { expectedLatencyMs: 0 } }).success).toBe(true);
  });
});

describe('output names', () => {
  const at = (...items: Partial<ImageItem>[]) =>
    nameCollisions(items.map((o, i) => ({ item: item({ id: String(i + 1), ...o }), line: i + 1 })));

  it('two items with one filename collide, naming both lines', () => {
    const [c] = at({ filename: 'a.png' }, { filename: 'a.png' });
    expect(c.line).toBe(2);
    expect(c.problem.field).toBe('filename');
    expect(c.problem.message).toMatch(/'a\.png' is the same file as line 1's 'a\.png'/);
  });

  it("a filename equal to another item's default name collides", () => {
    const [c] = at({ id: 'cat' }, { id: 'x', filename: 'cat.png' });
    expect(c.problem.message).toMatch(/line 1's 'cat\.png'/);
    const [d] = at({ filename: 'dog.png' }, { id: 'dog' });
    expect(d.problem.field).toBe('id');
    expect(d.problem.message).toMatch(/'dog\.png' \(its default file name\) is the same file as line 1's/);
  });

  it('names differing only in case or image extension collide', () => {
    expect(at({ filename: 'Cat.png' }, { filename: 'cat.PNG' })).toHaveLength(1);
    expect(at({ id: 'A' }, { id: 'a' })).toHaveLength(1);
    expect(at({ filename: 'cat.png' }, { filename: 'cat.jpg' })).toHaveLength(1);
  });

  it('distinct names do not', () => {
    expect(at({ filename: 'a.png' }, { filename: 'b.png' }, { id: 'c' }, { filename: 'a.x.png' })).toEqual([]);
  });
});

describe('strict UTF-8', () => {
  const enc = (s: string) => new TextEncoder().encode(s);

  it('a U+FFFD written in the file is text', () => {
    expect(decodeItemsText('f.jsonl', enc('{"prompt":"a \uFFFD b"}\n'))).toContain('\uFFFD');
  });

  it('drops a BOM', () => {
    expect(decodeItemsText('f.jsonl', enc('\uFEFFab'))).toBe('ab');
  });

  it('names the line of the first invalid byte', () => {
    const bytes = Buffer.concat([Buffer.from('ok\nok \uFFFD\n'), Buffer.from([0x61, 0xc3, 0x28]), Buffer.from('\n')]);
    expect(() => decodeItemsText('f.jsonl', bytes)).toThrow(/^f\.jsonl:3: is not valid UTF-8/);
    expect(() => decodeItemsText('f.jsonl', Buffer.from([0x61, 0x0a, 0xe2, 0x82]))).toThrow(/f\.jsonl:2:/);
  });
});

describe('echoed text', () => {
  it('strips escape sequences and control characters, keeps tab, newline and other text', () => {
    const hostile = 'a\x1b[2Jb\x1b]52;c;aGk=\x07c\x1b]0;title\x1b\\d\x1bce\x9b31mf\x7fg\th\nz\u00e9\u4e2d\x00';
    expect(stripControls(hostile)).toBe('abcde31mfg\th\nz\u00e9\u4e2d');
  });

  it('a problem stays one line', () => {
    expect(printable('f:1: id: a\nAll 6 images OK\x1b[0m')).toBe('f:1: id: a\\nAll 6 images OK');
  });
});

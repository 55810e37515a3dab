// Metadata in PNG bytes: the chunks written are read back by a walker and a CRC written here, apart from the code
// under test, and the image still decodes (pngjs); Latin-1 prompts go in tEXt, others in iTXt; a provider's own
// `parameters` chunk is replaced, not duplicated; a non-PNG is refused.
import { describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import { PNG } from 'pngjs';
import { type EmbeddedMetadata, parametersText } from '../../src/output/image-metadata';
import { PngError } from '../../src/output/png-chunks';
import { embedPngMetadata, readPngMetadata, withoutPngMetadata } from '../../src/output/png-metadata';
import { renderPng } from '../../src/providers/simulator/png';

/** CRC-32 (ISO 3309, the PNG one) from its own table: not the code under test's zlib.crc32. */
const TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface Walked {
  type: string;
  data: Buffer;
}

/** Every chunk of a PNG, each CRC checked; IHDR first, IEND last and nothing after it. */
function walk(png: Buffer): Walked[] {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  const out: Walked[] = [];
  let at = 8;
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const typeAndData = png.subarray(at + 4, at + 8 + len);
    expect(png.readUInt32BE(at + 8 + len), `CRC of chunk ${out.length}`).toBe(crc(typeAndData));
    out.push({ type: typeAndData.toString('latin1', 0, 4), data: typeAndData.subarray(4) });
    at += 12 + len;
  }
  expect(at).toBe(png.length);
  expect(out[0].type).toBe('IHDR');
  expect(out.at(-1)!.type).toBe('IEND');
  return out;
}

/** A text chunk's keyword and text, decoded here (tEXt: Latin-1; iTXt uncompressed: UTF-8 after four fields). */
function text(c: Walked): { keyword: string; text: string } {
  const nul = c.data.indexOf(0);
  const keyword = c.data.toString('latin1', 0, nul);
  if (c.type === 'tEXt') return { keyword, text: c.data.toString('latin1', nul + 1) };
  expect(c.type).toBe('iTXt');
  expect(c.data[nul + 1]).toBe(0); // not compressed
  const lang = c.data.indexOf(0, nul + 3);
  const translated = c.data.indexOf(0, lang + 1);
  return { keyword, text: c.data.toString('utf8', translated + 1) };
}

const textChunks = (png: Buffer) =>
  walk(png)
    .filter((c) => c.type === 'tEXt' || c.type === 'iTXt' || c.type === 'zTXt')
    .map((c) => ({ type: c.type, ...text(c) }));

/** A chunk built here, with its CRC from the table above. */
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const c = Buffer.alloc(4);
  c.writeUInt32BE(crc(body));
  return Buffer.concat([len, body, c]);
}

/** A PNG with extra chunks put right before IEND, as a provider might write them. */
function withChunks(png: Buffer, ...extra: Buffer[]): Buffer {
  return Buffer.concat([png.subarray(0, png.length - 12), ...extra, png.subarray(png.length - 12)]);
}

const META: EmbeddedMetadata = {
  batchId: 'b1',
  itemId: 'cat',
  prompt: 'a cat, café au lait colour',
  negativePrompt: 'blurry',
  prompts: ['a bloody cat, café au lait colour', 'a cat, café au lait colour'],
  seed: 42,
  width: 512,
  height: 768,
  provider: 'volcengine',
  model: 'jimeng_t2i_v40',
  taskId: 't-123',
};
const SOURCE = renderPng('a cat', 1, 128, 128);

describe('embedPngMetadata', () => {
  it('writes parameters (tEXt for a Latin-1 prompt) and imagebatch (iTXt JSON) right after IHDR, with valid CRCs', () => {
    const out = embedPngMetadata(SOURCE, META);
    const chunks = walk(out);
    expect(chunks.slice(0, 3).map((c) => c.type)).toEqual(['IHDR', 'tEXt', 'iTXt']);
    const texts = textChunks(out);
    expect(texts.map((t) => [t.type, t.keyword])).toEqual([
      ['tEXt', 'parameters'],
      ['iTXt', 'imagebatch'],
    ]);
    expect(texts[0].text).toBe(
      'a cat, café au lait colour\nNegative prompt: blurry\n' +
        'Seed: 42, Size: 512x768, Model: jimeng_t2i_v40, Provider: volcengine',
    );
    expect(JSON.parse(texts[1].text)).toEqual({
      prompt: META.prompt,
      negativePrompt: 'blurry',
      prompts: META.prompts,
      seed: 42,
      width: 512,
      height: 768,
      provider: 'volcengine',
      model: 'jimeng_t2i_v40',
      taskId: 't-123',
      batchId: 'b1',
      itemId: 'cat',
    });
  });

  it('leaves the image decodable, pixel for pixel', () => {
    const before = PNG.sync.read(SOURCE);
    const after = PNG.sync.read(embedPngMetadata(SOURCE, META));
    expect([after.width, after.height]).toEqual([before.width, before.height]);
    expect(after.data.equals(before.data)).toBe(true);
  });

  it('writes parameters as UTF-8 iTXt when the prompt is not Latin-1 (a Chinese prompt)', () => {
    const prompt = '一只猫坐在窗台上，水彩风格';
    const out = embedPngMetadata(SOURCE, { ...META, prompt, prompts: [prompt], negativePrompt: '模糊' });
    const params = textChunks(out).find((t) => t.keyword === 'parameters')!;
    expect(params.type).toBe('iTXt');
    expect(params.text.split('\n').slice(0, 2)).toEqual([prompt, 'Negative prompt: 模糊']);
    const json = JSON.parse(textChunks(out).find((t) => t.keyword === 'imagebatch')!.text);
    expect(json.prompt).toBe(prompt);
    expect(readPngMetadata(out).parameters).toBe(params.text);
  });

  it("replaces a provider's parameters and imagebatch chunks instead of adding a second of each", () => {
    const theirs = withChunks(
      SOURCE,
      chunk('tEXt', Buffer.from('parameters\0their prompt\nSteps: 20', 'latin1')),
      chunk('iTXt', Buffer.concat([Buffer.from('imagebatch\0\0\0\0\0'), Buffer.from('{"old":true}')])),
      chunk('tEXt', Buffer.from('Software\0their tool', 'latin1')),
    );
    const out = embedPngMetadata(theirs, META);
    const texts = textChunks(out);
    expect(texts.map((t) => t.keyword).sort()).toEqual(['Software', 'imagebatch', 'parameters']);
    expect(texts.find((t) => t.keyword === 'parameters')!.text).toMatch(/^a cat, café/);
    // Embedding twice is the same as once.
    expect(embedPngMetadata(out, META).equals(out)).toBe(true);
  });

  it('gives the original bytes back without its chunks', () => {
    expect(withoutPngMetadata(embedPngMetadata(SOURCE, META)).equals(SOURCE)).toBe(true);
  });

  it('refuses a non-PNG, a cut-off PNG, and one that does not start with IHDR', () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0xff, 0xd9]);
    expect(() => embedPngMetadata(jpeg, META)).toThrow(PngError);
    expect(() => embedPngMetadata(SOURCE.subarray(0, SOURCE.length - 20), META)).toThrow(/truncated PNG/);
    const noIhdr = Buffer.concat([SOURCE.subarray(0, 8), chunk('IEND', Buffer.alloc(0))]);
    expect(() => embedPngMetadata(noIhdr, META)).toThrow(/not IHDR/);
  });
});

describe('readPngMetadata', () => {
  it('reads back what embedPngMetadata wrote', () => {
    const found = readPngMetadata(embedPngMetadata(SOURCE, META));
    expect(found.parameters).toBe(parametersText(META));
    expect(found.imagebatch).toMatchObject({ seed: 42, taskId: 't-123', prompts: META.prompts });
  });

  it('reads zTXt and compressed iTXt chunks', () => {
    const png = withChunks(
      SOURCE,
      chunk(
        'zTXt',
        Buffer.concat([Buffer.from('parameters\0\0'), zlib.deflateSync(Buffer.from('zipped é', 'latin1'))]),
      ),
      chunk(
        'iTXt',
        Buffer.concat([Buffer.from('imagebatch\0\x01\0en\0\0'), zlib.deflateSync(Buffer.from('{"p":"猫"}'))]),
      ),
    );
    const found = readPngMetadata(png);
    expect(found.parameters).toBe('zipped é');
    expect(found.imagebatch).toEqual({ p: '猫' });
  });

  it('finds nothing in a PNG without text chunks', () => {
    expect(readPngMetadata(SOURCE)).toEqual({ parameters: undefined, imagebatch: undefined, texts: [] });
  });

  it('refuses a text chunk whose CRC does not match', () => {
    const bad = chunk('tEXt', Buffer.from('parameters\0x', 'latin1'));
    bad[bad.length - 1] ^= 0xff;
    expect(() => readPngMetadata(withChunks(SOURCE, bad))).toThrow(/bad CRC/);
  });
});

describe('parametersText', () => {
  it('writes only the settings that are known, and no negative prompt line without one', () => {
    expect(parametersText({ batchId: 'b', itemId: 'i', prompt: 'p', prompts: ['p'], provider: 'dashscope' })).toBe(
      'p\nProvider: dashscope',
    );
    expect(parametersText({ batchId: 'b', itemId: 'i', prompt: 'p', prompts: ['p'] })).toBe('p');
  });

  it('quotes a value holding a comma or colon, as Automatic1111 does', () => {
    const t = parametersText({ batchId: 'b', itemId: 'i', prompt: 'p', prompts: ['p'], seed: 0, model: 'a:b, c' });
    expect(t).toBe('p\nSeed: 0, Model: "a:b, c"');
  });
});

// readItemsFile on hostile files (no server): references that reach outside, size limits, strict UTF-8, names
// that collide, and problems that carry terminal escapes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ItemsFileError, readItemsFile } from '../../src/items/reader';
import { jsonl, PNG, refsLayout } from '../helpers/items-fixture';

let root: string;
let items: string;
let outside: string;
let n = 0;

beforeAll(() => {
  ({ root, items, outside } = refsLayout('ib-items-'));
  fs.writeFileSync(path.join(items, 'in.png'), PNG);
  fs.symlinkSync(outside, path.join(items, 'dirlink'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Writes an items file into the items folder and reads it; the problems, or [] when it passed. */
function problemsOf(contents: string | Buffer, ext = 'jsonl', refsDir?: string): string[] {
  const file = path.join(items, `f${++n}.${ext}`);
  fs.writeFileSync(file, contents);
  try {
    readItemsFile(file, { refsDir });
    return [];
  } catch (err) {
    if (err instanceof ItemsFileError) return err.problems;
    throw err;
  }
}
const withRef = (ref: string) => jsonl({ prompt: 'a', referenceImages: [ref] });

describe('reference images stay inside the items folder or --refs-dir', () => {
  it('a file in the items folder is allowed, as its resolved absolute path', () => {
    const file = path.join(items, 'ok.jsonl');
    fs.writeFileSync(file, withRef('in.png'));
    expect(readItemsFile(file).items[0].referenceImages).toEqual([fs.realpathSync(path.join(items, 'in.png'))]);
  });

  it.each([
    ['an absolute path elsewhere', () => path.join(outside, 'face.png')],
    ['a relative path that climbs out', () => '../outside/face.png'],
    ['a symlink out', () => 'face-link.png'],
    ['a path through a symlinked folder', () => 'dirlink/face.png'],
  ])('%s is refused with its line', (_name, ref) => {
    const [p, ...rest] = problemsOf(withRef(ref()));
    expect(rest).toEqual([]);
    expect(p).toMatch(/:1: referenceImages\.0: '.*' (\(it resolves to '.*'\) )?is outside/);
    expect(p).toMatch(/--refs-dir/);
  });

  it('--refs-dir allows its folder', () => {
    expect(problemsOf(withRef(path.join(outside, 'face.png')), 'jsonl', outside)).toEqual([]);
    expect(problemsOf(withRef('face-link.png'), 'jsonl', outside)).toEqual([]);
  });

  it('a --refs-dir that is not a folder is a usage error', () => {
    expect(() => problemsOf(withRef('in.png'), 'jsonl', path.join(root, 'nope'))).toThrow(/--refs-dir .*not a folder/);
  });

  it('a FIFO is refused without blocking, and so is a file that is not an image', () => {
    execFileSync('mkfifo', [path.join(items, 'fifo.png')]);
    expect(problemsOf(withRef('fifo.png'))).toEqual([expect.stringMatching(/'fifo\.png' is not a regular file/)]);
    fs.writeFileSync(path.join(items, 'text.png'), 'not an image at all');
    expect(problemsOf(withRef('text.png'))).toEqual([expect.stringMatching(/not a PNG, JPEG or WebP/)]);
  });

  it('a reference over 10 MB is refused up front (fstat, nothing read)', () => {
    const big = path.join(items, 'big.png');
    fs.writeFileSync(big, PNG);
    fs.truncateSync(big, 2 * 1024 ** 3);
    expect(problemsOf(withRef('big.png'))).toEqual([expect.stringMatching(/over the 10485760-byte limit/)]);
    fs.rmSync(big);
  });
});

describe('limits', () => {
  it('an item over 100 KB of JSON in a .json file, with its line', () => {
    const text = `[\n${JSON.stringify({ prompt: 'a' })},\n${JSON.stringify({ prompt: 'b', params: { x: 'y'.repeat(100_000) } })}\n]`;
    expect(problemsOf(text, 'json')).toEqual([expect.stringMatching(/:3: item is \d+ bytes of JSON, over the 100000/)]);
  });

  it('a line over 100 KB in UTF-8 bytes, even under 100,000 characters', () => {
    const text = jsonl({ prompt: 'a', params: { x: '\u4e2d'.repeat(40_000) } });
    expect(problemsOf(text)).toEqual([expect.stringMatching(/:1: item is \d+ bytes of JSON, over the 100000/)]);
  });

  it('a .json file over 100 MB is refused before it is read', () => {
    const file = path.join(items, 'huge.json');
    fs.writeFileSync(file, '[]');
    fs.truncateSync(file, 100_000_001);
    expect(() => readItemsFile(file)).toThrow(/huge\.json: is 100000001 bytes, over the 100000000-byte limit/);
  });

  it('over 1,000,000 items', () => {
    expect(problemsOf('a\n'.repeat(1_000_001), 'txt')).toEqual([
      expect.stringMatching(/: has 1000001 items, over the 1000000 limit/),
    ]);
  });
});

describe('truth', () => {
  it('a valid UTF-8 file with U+FFFD in a prompt is read', () => {
    expect(problemsOf(jsonl({ prompt: 'a \uFFFD b' }))).toEqual([]);
  });

  it('colliding names are refused naming both lines', () => {
    const p = problemsOf(jsonl({ id: 'a', prompt: 'x' }, { prompt: 'y', filename: 'A.png' }));
    expect(p).toEqual([expect.stringMatching(/:2: filename: 'A\.png' is the same file as line 1's 'a\.png'/)]);
  });

  it('policy times over 24 hours and width without height', () => {
    const p = problemsOf(
      jsonl(
        { prompt: 'a', policy: { expectedLatencyMs: 2 ** 53 } },
        { prompt: 'b', width: 512 },
        { prompt: '--ar 16:9 --v 6' },
      ),
    );
    expect(p).toEqual([
      expect.stringMatching(/:1: policy\.expectedLatencyMs: must be at most 86400000/),
      expect.stringMatching(/:2: height: is required with width/),
      expect.stringMatching(/:3: prompt: has nothing left/),
    ]);
  });

  it('a 1e308 policy number (Infinity once parsed) is refused', () => {
    const p = problemsOf('{"prompt": "a", "policy": {"maxWaitMs": 1e999, "pollIntervalMs": 1e308}}\n');
    expect(p).toHaveLength(2);
    expect(p.join('\n')).toMatch(/policy\.maxWaitMs/);
    expect(p.join('\n')).toMatch(/policy\.pollIntervalMs: must be at most/);
  });
});

describe('echoed text', () => {
  it('no problem carries a control character, whatever the file put in names and values', () => {
    const p = problemsOf(
      jsonl(
        { prompt: 'a', '\u001b]52;c;aGVsbG8=\u0007\u001b[2J': 1 },
        { prompt: 'b', referenceImages: ['\u001b[31mnope\u009b.png'] },
        { id: 'x\u001b[1m', prompt: 'c' },
      ) + '{"prompt": \u001b[2J}\n',
    );
    expect(p).toHaveLength(4);
    for (const line of p) expect(line).not.toMatch(/\p{Cc}/u);
  });
});

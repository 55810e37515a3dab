// A Batch API result file is read one line at a time: the reader asks its source for more only when the line it
// handed out has been dealt with (an output file can be gigabytes of base64 images, each written as it is read).
import { describe, expect, it } from 'vitest';
import { jsonlLines } from '../../src/providers/openai/batch-results';

/** A source of `n` lines in chunks that split lines anywhere, counting the chunks taken from it. */
function source(n: number) {
  const counter = { pulled: 0 };
  async function* chunks() {
    const text = Array.from({ length: n }, (_, i) => `{"custom_id":"L${i}"}\r\n`).join('');
    for (let at = 0; at < text.length; at += 7) {
      counter.pulled++;
      yield Buffer.from(text.slice(at, at + 7));
    }
  }
  return { counter, chunks: chunks() };
}

const turns = async (k: number) => {
  for (let i = 0; i < k; i++) await new Promise((r) => setImmediate(r));
};

describe('jsonlLines', () => {
  it('gives every line whole, in order, CRLF or LF, and a last line without its newline', async () => {
    const got: string[] = [];
    for await (const l of jsonlLines([Buffer.from('{"a":1}\r\n{"b"'), Buffer.from(':2}\n\n{"c":3}')])) got.push(l);
    expect(got).toEqual(['{"a":1}', '{"b":2}', '', '{"c":3}']);
    const { chunks } = source(50);
    const all: string[] = [];
    for await (const l of jsonlLines(chunks)) all.push(l);
    expect(all).toEqual(Array.from({ length: 50 }, (_, i) => `{"custom_id":"L${i}"}`));
  });

  it('takes nothing more from the source while the line it gave is being dealt with', async () => {
    const { counter, chunks } = source(5000);
    const lines = jsonlLines(chunks);
    expect((await lines.next()).value).toBe('{"custom_id":"L0"}');
    const atFirst = counter.pulled;
    // A slow consumer (an image being written): the reader must not run ahead and hold the file in memory.
    await turns(50);
    expect(counter.pulled).toBe(atFirst);
    expect(atFirst).toBeLessThanOrEqual(4);
    await lines.return(undefined);
  });
});

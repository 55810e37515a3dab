// `imagebatch inspect` as a process on hostile metadata: exit 2 and a message naming the file, never a crash (exit 1)
// from a stack overflow or a file too large to read.
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-inspect-hostile-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('imagebatch inspect on hostile metadata', () => {
  it('a sidecar nested 2,000,000 deep (under the size limit), and one of 1.5 GB: exit 2, naming the sidecar', async () => {
    const jpeg = path.join(dir, 'photo.jpg');
    fs.writeFileSync(jpeg, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(100)]));
    fs.writeFileSync(`${jpeg}.json`, '['.repeat(2_000_000) + ']'.repeat(2_000_000));
    const deep = await runCli(['inspect', jpeg]);
    expect(deep.code, deep.stderr).toBe(2);
    expect(deep.stderr).toContain(`sidecar '${jpeg}.json': JSON nested over 200 deep`);
    fs.truncateSync(`${jpeg}.json`, 1.5 * 1024 ** 3);
    const huge = await runCli(['inspect', jpeg, '--json']);
    expect(huge.code, huge.stderr).toBe(2);
    expect(huge.stderr).toContain(`sidecar '${jpeg}.json' is 1610612736 bytes, over the 4 MB inspect reads`);
  });
});

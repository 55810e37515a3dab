// `run` on an items file whose variants ask for more than 1,000,000 images: exit 2 naming the file and the line,
// before anything is expanded, connected or started.
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliEnv, runCli } from '../helpers/cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-image-limit-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the image limit of run', () => {
  it('62,501 lines of n: 16 are 1,000,016 images: exit 2 naming file and line', async () => {
    const file = path.join(dir, 'many.jsonl');
    fs.writeFileSync(file, '{"prompt":"a kite","n":16}\n'.repeat(62_501));
    const r = await runCli(['run', file, '--out', path.join(dir, 'out')], { env: cliEnv() });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `${file}:62501: brings the batch to over 1000000 images (each of n or seeds is one): split the file`,
    );
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });
});

// A local batch never loads the AWS SDK (a quarter of a second of CPU at every start): the CLI's entry, the worker's
// activities and a folder's store load none of it; a bucket's store loads it with its first request. Asked of the
// built code in a fresh process, whose require.cache is the truth of what was loaded (`npm run build` first).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imagebatch-lazy-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs `script` in a fresh Node at the project's root; it prints what it found as JSON on its last line. */
function inFreshNode(script: string, args: string[] = []): Record<string, unknown> {
  const out = execFileSync(process.execPath, ['-e', script, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
}

const SDK_LOADED = `() => Object.keys(require.cache).some((k) => k.includes('${path.sep}@aws-sdk${path.sep}'))`;

describe('the AWS SDK is loaded only for a bucket', () => {
  it('the CLI entry (every command) and the worker activities load none of it', () => {
    const found = inFreshNode(`
      const sdkLoaded = ${SDK_LOADED};
      process.argv = [process.argv[0], 'imagebatch', '--version'];
      process.exitCode = 0;
      const log = console.log; console.log = () => {};
      process.exit = () => {};
      require('./lib/client/cli.js');
      require('./lib/activities/index.js');
      console.log = log;
      console.log(JSON.stringify({ sdk: sdkLoaded(), cli: Object.keys(require.cache).some((k) => k.endsWith('cli.js')) }));
    `);
    expect(found).toEqual({ sdk: false, cli: true });
  });

  it("a folder's store writes, reads and lists without it; a bucket's loads it at its first request", () => {
    const found = inFreshNode(
      `
      const sdkLoaded = ${SDK_LOADED};
      const { openStore } = require('./lib/storage/open-store.js');
      (async () => {
        const folder = openStore(process.argv[1]);
        await folder.write([{ name: 'a.txt', data: 'x' }]);
        const read = (await folder.read('a.txt')).toString();
        const afterFolder = sdkLoaded();
        const bucket = openStore('s3://bkt/runs/b1', { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1', AWS_REGION: 'x' });
        const where = bucket.where('cat.png');
        const afterOpen = sdkLoaded();
        await bucket.read('cat.png').catch(() => undefined);
        console.log(JSON.stringify({ read, afterFolder, where, afterOpen, afterRequest: sdkLoaded() }));
      })();
    `,
      [path.join(tmp, 'b1')],
    );
    expect(found).toEqual({
      read: 'x',
      afterFolder: false,
      where: 's3://bkt/runs/b1/cat.png',
      afterOpen: false,
      afterRequest: true,
    });
  });
});

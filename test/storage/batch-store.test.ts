// The BatchStore contract, run against both implementations: a local folder and a bucket on a real S3 server
// (versitygw, which checks every signature). Then what only a bucket has: its layout, sha256 metadata, paged lists,
// and the preflight that refuses an unknown bucket, wrong credentials and an unreachable endpoint.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageUnreachable } from '../../src/client/exit-codes';
import { UsageError } from '../../src/shared/usage-error';
import type { BatchStore } from '../../src/storage/batch-store';
import { bucketFailure } from '../../src/storage/bucket-errors';
import { openBucketStore } from '../../src/storage/bucket-store';
import { checkBucket } from '../../src/storage/check-bucket';
import { FolderStore } from '../../src/storage/folder-store';
import { openStore } from '../../src/storage/open-store';
import { freePort } from '../../src/temporal/dev-server-process';
import { sha256, useBucketServer } from './bucket-fixture';

const BUCKET = 'batches';
const fx = useBucketServer(BUCKET);
let n = 0;

const stores: Record<'folder' | 'bucket', () => BatchStore> = {
  folder: () => new FolderStore(path.join(fx.tmp, `b${++n}`)),
  // Opened as the activities open it: openStore, whose bucket store loads the SDK on its first request.
  bucket: () => openStore(`s3://${BUCKET}/runs/b${++n}`, fx.server.env),
};

describe.each(['folder', 'bucket'] as const)('the %s store', (kind) => {
  const open = () => stores[kind]();

  it('says what it is and where a file is', () => {
    const store = open();
    expect(store.kind).toBe(kind);
    expect(store.where('sub/cat.png')).toBe(
      kind === 'folder' ? path.join(store.location, 'sub', 'cat.png') : `${store.location}/sub/cat.png`,
    );
    // A folder of the batch can be named too (a message about the submit journal).
    expect(store.where('.imagebatch/tasks/')).toContain(
      `${store.location}${kind === 'folder' ? path.sep : '/'}.imagebatch`,
    );
  });

  it('reads back what it wrote, whole; a file not there is undefined', async () => {
    const store = open();
    expect(await store.read('cat.png')).toBeUndefined();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
    await store.write([
      { name: 'cat.png.json', data: '{"prompt":"a cat"}' },
      { name: 'cat.png', data: png },
      { name: '.imagebatch/items.jsonl', data: '{"id":"cat"}\n' },
    ]);
    expect(await store.read('cat.png')).toEqual(png);
    expect((await store.read('cat.png.json'))!.toString()).toBe('{"prompt":"a cat"}');
    expect((await store.read('.imagebatch/items.jsonl'))!.toString()).toBe('{"id":"cat"}\n');
    // A retried write puts the same name again: the file is replaced, not doubled.
    await store.write([{ name: 'cat.png', data: 'again' }]);
    expect((await store.read('cat.png'))!.toString()).toBe('again');
  });

  it('reads a log back in the order its groups were appended', async () => {
    const store = open();
    const log = '.imagebatch/results.jsonl';
    expect(await store.readLines(log)).toEqual([]);
    await store.appendLines(log, ['{"a":1}', '{"a":2}'], '000000000000001-aa');
    await store.appendLines(log, [], '000000000000002-bb');
    await store.appendLines(log, ['{"a":3}'], '000000000000003-cc');
    await store.appendLines(log, ['{"a":4}', '{"a":5}'], '000000000000010-dd');
    expect(await store.readLines(log)).toEqual(['{"a":1}', '{"a":2}', '{"a":3}', '{"a":4}', '{"a":5}']);
  });

  it('lists the files under a folder of the batch, by name', async () => {
    const store = open();
    expect(await store.list()).toEqual([]);
    await store.write([
      { name: 'b.png', data: 'b' },
      { name: 'a.png', data: 'a' },
      { name: '.imagebatch/tasks/x.json', data: '{}' },
      { name: '.imagebatch/tasks/y.json', data: '{}' },
      { name: 'manifest.json', data: '{}' },
    ]);
    expect(await store.list('.imagebatch/tasks/')).toEqual(['.imagebatch/tasks/x.json', '.imagebatch/tasks/y.json']);
    expect(await store.list()).toEqual([
      '.imagebatch/tasks/x.json',
      '.imagebatch/tasks/y.json',
      'a.png',
      'b.png',
      'manifest.json',
    ]);
  });

  it('a folder name is not a prefix of another folder, with a trailing / or none', async () => {
    const store = open();
    await store.write([
      { name: '.imagebatch/tasks/x.json', data: '{}' },
      { name: '.imagebatch/tasks-old/y.json', data: '{}' },
      { name: '.imagebatch/tasks.json', data: '{}' },
    ]);
    expect(await store.list('.imagebatch/tasks')).toEqual(['.imagebatch/tasks/x.json']);
    expect(await store.list('.imagebatch/tasks/')).toEqual(['.imagebatch/tasks/x.json']);
    await store.remove('.imagebatch/tasks');
    expect(await store.list()).toEqual(['.imagebatch/tasks-old/y.json', '.imagebatch/tasks.json']);
  });

  it('says which of some names are files, in the order asked', async () => {
    const store = open();
    expect(await store.present(['cat.png', 'cat.jpg'])).toEqual([]);
    await store.write([
      { name: 'cat.jpg.json', data: '{}' },
      { name: 'cat.jpg', data: 'j' },
      { name: 'cat.webp', data: 'w' },
      { name: 'cats.png', data: 'c' },
      { name: 'sub/cat.png', data: 's' },
    ]);
    expect(await store.present(['cat.png', 'cat.webp', 'cat.jpg', 'cat.jpeg'])).toEqual(['cat.webp', 'cat.jpg']);
    expect(await store.present(['sub'])).toEqual([]);
  });

  it('removes a folder of the batch and nothing else; removing what is not there is fine', async () => {
    const store = open();
    await store.write([
      { name: '.imagebatch/tasks/x.json', data: '{}' },
      { name: '.imagebatch/tasks/y.json', data: '{}' },
      { name: '.imagebatch/items.jsonl', data: '' },
      { name: 'x.png', data: 'x' },
    ]);
    await store.remove('.imagebatch/tasks/');
    expect(await store.list()).toEqual(['.imagebatch/items.jsonl', 'x.png']);
    await store.remove('.imagebatch/tasks/');
    await store.remove('nothing-here/');
    expect(await store.read('x.png')).toBeDefined();
  });
});

describe('the bucket store', () => {
  it("keeps a batch's files under PREFIX/<batch>/ with the folder's relative names", async () => {
    const store = openBucketStore(`s3://${BUCKET}/team/runs/layout1`, fx.server.env);
    await store.write([{ name: 'sub/cat.png', data: 'png' }]);
    // versitygw's posix backend keeps an object as the file of its key under the bucket's folder.
    expect(fs.readFileSync(path.join(fx.server.root, BUCKET, 'team/runs/layout1/sub/cat.png'), 'utf8')).toBe('png');
  });

  it('stores the sha256 with each file and refuses to read a file that no longer matches it', async () => {
    const store = openBucketStore(`s3://${BUCKET}/runs/sums1`, fx.server.env);
    await store.write([{ name: 'cat.png', data: 'the image' }]);
    expect(await store.storedSha256('cat.png')).toBe(sha256('the image'));
    expect(await store.storedSha256('dog.png')).toBeUndefined();
    fs.writeFileSync(path.join(fx.server.root, BUCKET, 'runs/sums1/cat.png'), 'the imagX');
    const err = await store.read('cat.png').catch((e: unknown) => e);
    // A bucket's failure the activities word as LocalStorage, naming the object.
    expect(bucketFailure(err)).toEqual({
      reason: `s3://${BUCKET}/runs/sums1/cat.png does not match the sha256 stored with it: it was changed or cut short`,
      retryable: false,
      unreachable: false,
    });
  });

  it('a retried append puts the same part again instead of a second copy', async () => {
    const store = openBucketStore(`s3://${BUCKET}/runs/parts1`, fx.server.env);
    await store.appendLines('.imagebatch/results.jsonl', ['{"a":1}'], '000000000000001-aa');
    await store.appendLines('.imagebatch/results.jsonl', ['{"a":1}'], '000000000000001-aa');
    expect(await store.readLines('.imagebatch/results.jsonl')).toEqual(['{"a":1}']);
    expect(await store.list()).toEqual(['.imagebatch/results.jsonl.d/000000000000001-aa']);
  });

  it('lists and removes past one page (1000 keys)', async () => {
    const store = openBucketStore(`s3://${BUCKET}/runs/many1`, fx.server.env);
    // Made on the server's disk directly: 1,005 PUTs would only be slower.
    const dir = path.join(fx.server.root, BUCKET, 'runs/many1/.imagebatch/tasks');
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 1005; i++) fs.writeFileSync(path.join(dir, `i${String(i).padStart(4, '0')}.json`), '{}');
    await store.write([{ name: 'keep.png', data: 'k' }]);
    const listed = await store.list('.imagebatch/tasks/');
    expect(listed).toHaveLength(1005);
    expect(listed.at(-1)).toBe('.imagebatch/tasks/i1004.json');
    await store.remove('.imagebatch/tasks/');
    expect(await store.list()).toEqual(['keep.png']);
  });

  it('a wrong secret fails every request with words saying so', async () => {
    const store = openBucketStore(`s3://${BUCKET}/runs/denied1`, { ...fx.server.env, AWS_SECRET_ACCESS_KEY: 'wrong' });
    const err = await store.write([{ name: 'x.png', data: 'x' }]).catch((e: unknown) => e);
    expect(bucketFailure(err)).toEqual({
      reason: expect.stringContaining('wrong credentials'),
      retryable: false,
      unreachable: false,
    });
  });
});

describe('checkBucket', () => {
  it('passes for a bucket this process may write, and leaves nothing behind', async () => {
    const location = `s3://${BUCKET}/runs/check1`;
    await checkBucket(location, fx.server.env);
    expect(await openBucketStore(location, fx.server.env).list()).toEqual([]);
  });

  it.each([
    ['a wrong secret', { AWS_SECRET_ACCESS_KEY: 'not-the-secret' }, /wrong credentials \(the secret key/],
    ['an unknown access key', { AWS_ACCESS_KEY_ID: 'nobody' }, /wrong credentials \(the access key id/],
  ])('refuses %s: exit 2, naming the bucket and the credentials', async (_what, change, words) => {
    const err = await checkBucket(`s3://${BUCKET}/runs/check2`, { ...fx.server.env, ...change }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(`bucket "${BUCKET}" at ${fx.server.endpoint}`);
    expect((err as Error).message).toMatch(words);
    expect((err as Error).message).not.toContain(fx.server.secretKey);
  });

  it('refuses an unknown bucket: exit 2, naming it', async () => {
    const err = await checkBucket('s3://no-such-bucket/runs/check3', fx.server.env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/bucket "no-such-bucket" at .*: the bucket does not exist/);
  });

  it('says an endpoint where nothing listens cannot be reached: exit 3', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const err = await checkBucket(`s3://${BUCKET}/runs/check4`, {
      ...fx.server.env,
      AWS_ENDPOINT_URL_S3: endpoint,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageUnreachable);
    expect((err as Error).message).toContain(`bucket "${BUCKET}" at ${endpoint}: the endpoint cannot be reached`);
  });
});

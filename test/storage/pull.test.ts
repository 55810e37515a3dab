// `imagebatch pull BATCH --from s3://… --out DIR` against a real S3 server (versitygw): a batch's files, written
// through the bucket store as workers write them, land in DIR/<batch>/ with the same names and bytes; a second pull
// downloads only what changed; bad storage is exit 2 or 3. (A whole batch run into a bucket is the cluster tier's.)
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { openBucketStore } from '../../src/storage/bucket-store';
import { freePort } from '../../src/temporal/dev-server-process';
import { cliEnv, runCli } from '../helpers/cli';
import { sha256, useBucketServer } from './bucket-fixture';

const BUCKET = 'pulls';
const fx = useBucketServer(BUCKET);
const pull = (args: string[], env: NodeJS.ProcessEnv = fx.server.env) =>
  runCli(['pull', ...args], { env: cliEnv(env) });

/** A small finished batch as workers leave it in the bucket: images, a sidecar, results parts, manifest, gallery. */
async function writeBatch(batchId: string) {
  const store = openBucketStore(`s3://${BUCKET}/team/${batchId}`, fx.server.env);
  const cat = Buffer.from('cat image bytes');
  const dog = Buffer.from('dog image bytes');
  await store.write([
    { name: '.imagebatch/items.jsonl', data: '{"id":"cat"}\n{"id":"dog"}\n' },
    { name: 'dog.jpg.json', data: '{"prompt":"a dog"}' },
    { name: 'dog.jpg', data: dog },
    { name: 'cat.png', data: cat },
  ]);
  await store.appendLines('.imagebatch/results.jsonl', ['{"itemId":"cat"}'], '000000000000001-aa');
  await store.appendLines('.imagebatch/results.jsonl', ['{"itemId":"dog"}'], '000000000000002-bb');
  const manifest = {
    batchId,
    items: [
      { id: 'cat', status: 'succeeded', file: 'cat.png', sha256: sha256(cat) },
      { id: 'dog', status: 'succeeded', file: 'dog.jpg', sha256: sha256(dog) },
    ],
  };
  await store.write([
    { name: 'manifest.json', data: JSON.stringify(manifest) },
    { name: 'index.html', data: '<html>gallery</html>' },
  ]);
  return store;
}

/** Every file under `dir`, relative, with its bytes. */
function filesIn(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    out[path.relative(dir, full).split(path.sep).join('/')] = fs.readFileSync(full, 'utf8');
  }
  return out;
}

describe('imagebatch pull', () => {
  it('mirrors the batch into DIR/<batch>/, then downloads only what differs', async () => {
    const store = await writeBatch('p1');
    const out = path.join(fx.tmp, 'out1');
    const first = await pull(['p1', '--from', `s3://${BUCKET}/team`, '--out', out]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const folder = path.join(out, 'p1');
    expect(first.stdout).toContain(`pulled s3://${BUCKET}/team/p1 into ${folder}: 8 downloaded, 0 already there`);
    expect(first.stdout).toContain(`gallery: ${path.join(folder, 'index.html')}`);
    const expected: Record<string, string> = {};
    for (const name of await store.list()) expected[name] = (await store.read(name))!.toString('utf8');
    expect(Object.keys(expected)).toHaveLength(8);
    expect(filesIn(folder)).toEqual(expected);

    // A local file changed (or cut short) is downloaded again; the others are not.
    fs.writeFileSync(path.join(folder, 'dog.jpg'), 'dog image byte');
    fs.writeFileSync(path.join(folder, 'dog.jpg.json'), '{}');
    const second = await pull(['p1', '--from', `s3://${BUCKET}/team/`, '--out', out]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('2 downloaded, 6 already there');
    expect(filesIn(folder)).toEqual(expected);

    const third = await pull(['p1', '--from', `s3://${BUCKET}/team`, '--out', out]);
    expect(third.stdout).toContain('0 downloaded, 8 already there');
  });

  it('leaves alone a key that names no file inside the batch (a console folder marker)', async () => {
    const store = openBucketStore(`s3://${BUCKET}/team/p5`, fx.server.env);
    await store.write([{ name: 'cat.png', data: 'cat' }]);
    const client = new S3Client({
      endpoint: fx.server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: fx.server.accessKey, secretAccessKey: fx.server.secretKey },
    });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'team/p5/drafts/', Body: Buffer.alloc(0) }));
    client.destroy();
    const out = path.join(fx.tmp, 'out5');
    const r = await pull(['p5', '--from', `s3://${BUCKET}/team`, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('skipped drafts/: not a file name inside the batch');
    expect(r.stdout).toContain('1 downloaded, 0 already there');
    expect(filesIn(path.join(out, 'p5'))).toEqual({ 'cat.png': 'cat' });
  });

  it('says there is nothing to pull when the bucket has no files of the batch: exit 1', async () => {
    const r = await pull(['never-ran', '--from', `s3://${BUCKET}/team`, '--out', path.join(fx.tmp, 'out2')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`batch never-ran has no files at s3://${BUCKET}/team/never-ran yet: nothing to pull`);
    expect(fs.existsSync(path.join(fx.tmp, 'out2', 'never-ran'))).toBe(false);
  });

  it('refuses a wrong secret (exit 2) and an endpoint where nothing listens (exit 3), naming the bucket', async () => {
    await writeBatch('p3');
    const denied = await pull(['p3', '--from', `s3://${BUCKET}/team`, '--out', path.join(fx.tmp, 'out3')], {
      ...fx.server.env,
      AWS_SECRET_ACCESS_KEY: 'wrong',
    });
    expect(denied.code).toBe(2);
    expect(denied.stderr).toContain(`bucket "${BUCKET}" at ${fx.server.endpoint}: wrong credentials`);
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const down = await pull(['p3', '--from', `s3://${BUCKET}/team`, '--out', path.join(fx.tmp, 'out3')], {
      ...fx.server.env,
      AWS_ENDPOINT_URL_S3: endpoint,
    });
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`bucket "${BUCKET}" at ${endpoint}: the endpoint cannot be reached`);
  });

  it('report words a bucket it cannot use as pull does: exit 2 naming the bucket, exit 3 when nothing answers', async () => {
    await writeBatch('p6');
    const report = (env: NodeJS.ProcessEnv) =>
      runCli(['report', 'p6', '--out', `s3://${BUCKET}/team`], { env: cliEnv({ ...fx.server.env, ...env }) });
    const denied = await report({ AWS_SECRET_ACCESS_KEY: 'wrong' });
    expect(denied.code).toBe(2);
    expect(denied.stderr).toContain(`bucket "${BUCKET}" at ${fx.server.endpoint}: wrong credentials`);
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const down = await report({ AWS_ENDPOINT_URL_S3: endpoint });
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`bucket "${BUCKET}" at ${endpoint}: the endpoint cannot be reached`);
  });

  it('refuses a --from that is not an s3:// URL or names no bucket: exit 2', async () => {
    const r = await pull(['p1', '--from', path.join(fx.tmp, 'elsewhere')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not an s3:// URL');
    const bad = await pull(['p1', '--from', 's3://Bad_Bucket/x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from s3://Bad_Bucket/x: "Bad_Bucket" is not a bucket name');
  });
});

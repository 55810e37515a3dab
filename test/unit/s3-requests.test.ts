// What the bucket store puts on the wire, seen by a loopback server that records requests: whole bodies signed with
// their sha256 (no aws-chunked encoding, no CRC trailers, which OSS and several clones refuse), the object's sha256
// as metadata, path-style URLs for an IP endpoint, and Content-MD5 on DeleteObjects (older MinIO and OSS need it).
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { findExistingImage } from '../../src/output/image-file';
import { openBucketStore } from '../../src/storage/bucket-store';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const seen: Seen[] = [];
let server: http.Server;
let env: NodeJS.ProcessEnv;

const LIST = (keys: string[]) =>
  '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bkt</Name><IsTruncated>false</IsTruncated>' +
  keys.map((k) => `<Contents><Key>${k}</Key><Size>1</Size></Contents>`).join('') +
  '</ListBucketResult>';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      if (req.method === 'GET' && req.url!.includes('list-type=2')) {
        res.writeHead(200, { 'content-type': 'application/xml' }).end(LIST(['runs/b1/.imagebatch/tasks/x.json']));
      } else if (req.method === 'POST' && req.url!.includes('delete')) {
        res.writeHead(200, { 'content-type': 'application/xml' }).end('<DeleteResult></DeleteResult>');
      } else {
        res.writeHead(200, { etag: '"e"' }).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  env = { AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'us-east-1' };
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

it('puts a whole Buffer, signed with its sha256, with the sha256 as metadata, path style', async () => {
  seen.length = 0;
  const data = Buffer.from('an image, whole');
  await openBucketStore('s3://bkt/runs/b1', env).write([{ name: 'cat.png', data }]);
  const put = seen.find((s) => s.method === 'PUT')!;
  const sum = createHash('sha256').update(data).digest('hex');
  expect(put.url.split('?')[0]).toBe('/bkt/runs/b1/cat.png');
  expect(put.body).toEqual(data);
  expect(put.headers['x-amz-content-sha256']).toBe(sum);
  expect(put.headers['x-amz-meta-sha256']).toBe(sum);
  expect(put.headers['content-type']).toBe('image/png');
  expect(put.headers['content-encoding']).toBeUndefined();
  expect(put.headers['x-amz-decoded-content-length']).toBeUndefined();
  expect(Object.keys(put.headers).filter((h) => h.startsWith('x-amz-checksum-') || h === 'x-amz-trailer')).toEqual([]);
});

it('sends Content-MD5, and no CRC checksum header, with DeleteObjects', async () => {
  seen.length = 0;
  await openBucketStore('s3://bkt/runs/b1', env).remove('.imagebatch/tasks/');
  const del = seen.find((s) => s.method === 'POST')!;
  expect(del.body.toString()).toContain('<Key>runs/b1/.imagebatch/tasks/x.json</Key>');
  expect(del.headers['content-md5']).toBe(createHash('md5').update(del.body).digest('base64'));
  expect(Object.keys(del.headers).filter((h) => /^x-amz-(sdk-)?checksum-/.test(h))).toEqual([]);
});

it("looks for an item's existing image with one list of its stem, not a GET per extension", async () => {
  // An activity opens the store with its process's environment.
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v!);
  seen.length = 0;
  expect(await findExistingImage({ outDir: 's3://bkt/runs/b1', itemId: 'cat' })).toBeUndefined();
  expect(seen.map((s) => s.method)).toEqual(['GET']);
  expect(new URL(seen[0].url, 'http://x').searchParams.get('prefix')).toBe('runs/b1/cat.');
  vi.unstubAllEnvs();
});

// A batch's files in an S3-compatible bucket: `s3://BUCKET/PREFIX/<batchId>/<name>`, one object per file, each PUT
// whole from a Buffer (no streams, so no aws-chunked encoding) with its sha256 as user metadata (x-amz-meta-sha256),
// which `read` checks and `pull` compares with a local file before downloading it again.
import { createHash } from 'node:crypto';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type BatchStore, isUnder, type StoredFile } from './batch-store';
import { ChangedObject } from './bucket-errors';
import { s3ClientFor } from './s3-client';
import { parseBatchLocation } from './s3-location';

/** A bucket's store: a BatchStore, plus the sha256 recorded with a file (for `pull`). */
export interface BucketStore extends BatchStore {
  readonly kind: 'bucket';
  readonly bucket: string;
  /** The sha256 stored with the file at write, or undefined when there is no such file (or it was put by hand). */
  storedSha256(name: string): Promise<string | undefined>;
}

/** Results parts read at once. */
const PARALLEL_READS = 16;

/** DeleteObjects takes at most 1000 keys. */
const DELETE_BATCH = 1000;

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  json: 'application/json',
  jsonl: 'application/x-ndjson',
  html: 'text/html; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
};

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The store of a batch at `s3://bucket/prefix/<batchId>`, with this process's credentials and endpoint. */
export function openBucketStore(location: string, env: NodeJS.ProcessEnv = process.env): BucketStore {
  const { bucket, prefix } = parseBatchLocation(location);
  const client: S3Client = s3ClientFor(env);
  const key = (name: string) => `${prefix}/${checkedName(name)}`;
  const base = `${prefix}/`;

  /** The names of the batch's objects whose name starts with `start` (a plain string match, as S3 lists). */
  async function* namesStarting(start: string): AsyncGenerator<string> {
    for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: `${base}${start}` })) {
      for (const o of page.Contents ?? []) yield o.Key!.slice(base.length);
    }
  }

  /** The names under a folder: `.imagebatch/tasks` is not also `.imagebatch/tasks-old`. */
  async function* namesUnder(folder: string): AsyncGenerator<string> {
    const f = folder.replace(/\/+$/, '');
    for await (const name of namesStarting(f ? checkedName(f) : '')) if (isUnder(name, f)) yield name;
  }

  async function read(name: string): Promise<Buffer | undefined> {
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key(name) }));
      const data = Buffer.from(await res.Body!.transformToByteArray());
      const stored = res.Metadata?.sha256;
      if (stored && stored !== sha256(data)) {
        throw new ChangedObject(where(name));
      }
      return data;
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  async function put(name: string, data: Buffer): Promise<void> {
    const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key(name),
        Body: data,
        ContentLength: data.length,
        ContentType: CONTENT_TYPES[ext] ?? 'application/octet-stream',
        Metadata: { sha256: sha256(data) },
      }),
    );
  }

  // For people only: a folder's name (`.imagebatch/tasks/`) is fine here, unlike in a key.
  const where = (name: string) => `s3://${bucket}/${base}${name}`;

  return {
    location: `s3://${bucket}/${prefix}`,
    kind: 'bucket',
    bucket,
    read,
    where,

    async write(files: StoredFile[]) {
      // In order: a sidecar is in the bucket before its image.
      for (const f of files) await put(f.name, Buffer.from(f.data));
    },

    async appendLines(name, lines, part) {
      if (!lines.length) return;
      await put(`${name}.d/${part}`, Buffer.from(lines.map((l) => `${l}\n`).join('')));
    },

    async readLines(name) {
      const parts: string[] = [];
      for await (const p of namesUnder(`${name}.d`)) parts.push(p);
      // Listings are in key order already; sorting says so, whatever a clone returns.
      parts.sort(byName);
      const texts: string[] = [];
      // A few parts at a time (a batch has one per recorded group), kept in order.
      for (let i = 0; i < parts.length; i += PARALLEL_READS) {
        const chunk = parts.slice(i, i + PARALLEL_READS);
        texts.push(...(await Promise.all(chunk.map(async (p) => (await read(p))?.toString('utf8') ?? ''))));
      }
      return texts.flatMap((t) => t.split('\n')).filter((l) => l.trim());
    },

    async list(sub = '') {
      const names: string[] = [];
      for await (const n of namesUnder(sub)) names.push(n);
      return names.sort(byName);
    },

    async present(names) {
      if (!names.length) return [];
      names.forEach(checkedName);
      const found = new Set<string>();
      for await (const n of namesStarting(commonStart(names))) found.add(n);
      return names.filter((n) => found.has(n));
    },

    async remove(sub) {
      const keys: string[] = [];
      for await (const n of namesUnder(sub)) keys.push(`${base}${n}`);
      for (let i = 0; i < keys.length; i += DELETE_BATCH) {
        const Objects = keys.slice(i, i + DELETE_BATCH).map((Key) => ({ Key }));
        const res = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects, Quiet: true } }));
        const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (failed.length) {
          const first = failed[0]!;
          throw Object.assign(new Error(`${failed.length} file(s) under ${where(sub)} were not removed`), {
            name: first.Code ?? 'DeleteFailed',
          });
        }
      }
    },

    async storedSha256(name) {
      try {
        const res = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key(name) }));
        return res.Metadata?.sha256;
      } catch (err) {
        if ((err as Error).name === 'NotFound' || (err as Error).name === 'NoSuchKey') return undefined;
        throw err;
      }
    },
  };
}

/** The longest start all of `names` share (`cat.` of `cat.png` and `cat.jpg`). */
function commonStart(names: string[]): string {
  let start = names[0];
  for (const n of names) while (!n.startsWith(start)) start = start.slice(0, -1);
  return start;
}

/** A name relative to the batch: `/`-separated, no empty, `.` or `..` part (it could leave the batch's prefix). */
function checkedName(name: string): string {
  const parts = name.split('/');
  if (!name || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`not a file name inside a batch: ${JSON.stringify(name)}`);
  }
  return name;
}

// The fleet: a batch that spans machines. Two worker machines (each `imagebatch worker` in a mount namespace of its
// own, with an empty tmpfs over every other machine's folders, so no disk is shared) work one batch started from a
// third (this process) against a Temporal server on PostgreSQL and an S3 bucket (versitygw). The items do not fit a
// workflow input, so workers page them in from the bucket. Each worker machine is SIGKILLed (its whole process group)
// mid-batch and replaced, and the Temporal server is SIGKILLed and restarted once. Then: every image is in the bucket
// once with the manifest's sha256, the provider was paid twice for at most one image per kill, the manifest and
// gallery are complete, and `imagebatch pull` gives the bucket's files.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Manifest } from '../../src/output/manifest';
import { isBatchFile } from '../../src/output/batch-folder';
import { INLINE_LIMIT_BYTES } from '../../src/output/items-copy';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { BIN } from '../helpers/cli';
import { waitFor, walk } from '../helpers/image-env';
import { type Machine, startMachine, startWorkerMachine } from '../helpers/machine';
import { type S3Server, startS3Server } from '../helpers/s3-server';
import { TemporalServer } from './postgres-temporal';

const ITEMS = 300;
const BUCKET = 'fleet';
const PREFIX = 'runs/nightly';

let sim: ProviderSimulator;
let s3: S3Server;
let client: Client;
const machines: Machine[] = [];
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-fleet-home-'));
// Every machine's own folder exists from the start, so each can hide all the others'.
const dirs = ['a1', 'b1', 'a2', 'b2'].map((n) => fs.mkdtempSync(path.join(os.tmpdir(), `ib-fleet-${n}-`)));

beforeAll(async () => {
  sim = await startSimulator({ latencyMs: { dist: 'uniform', min: 500, max: 2500 } });
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  client = new Client({
    connection: await Connection.connect({ address: inject('clusterAddress') }),
    namespace: inject('clusterNamespace'),
  });
});

afterAll(async () => {
  for (const m of machines) await m.kill();
  await client?.connection.close();
  await s3?.stop();
  await sim?.close();
  for (const d of [home, ...dirs]) fs.rmSync(d, { recursive: true, force: true });
});

/** A prompt of about 1.2 kB: 300 of them are over the inline limit, so the batch's items go to its items copy. */
const prompt = (i: number) =>
  `fleet item ${i}: a lighthouse on a cliff at dusk, ` +
  Array.from({ length: 24 }, (_, k) => `detail ${k} of scene ${i} with warm light`).join(', ');

/** Environment of any machine: the cluster, the bucket, the provider; none of this process's Temporal settings. */
function machineEnv(dir: string, queue: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C.UTF-8' };
  return {
    ...env,
    HOME: dir,
    TMPDIR: dir,
    TEMPORAL_ADDRESS: inject('clusterAddress'),
    TEMPORAL_NAMESPACE: inject('clusterNamespace'),
    IMAGEBATCH_TASK_QUEUE: queue,
    IMAGEBATCH_LOG_LEVEL: 'WARN',
    ...sim.env(),
    ...s3.env,
  };
}

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: home, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout };
}

/** Resolves once the machine's worker polls the queue (its identity is `pid@host`: the machine's pid). */
async function polling(m: Machine, queue: string): Promise<void> {
  await waitFor(
    async () => {
      if (m.process.exitCode !== null) throw new Error(`machine ${m.pid} exited with ${m.process.exitCode}`);
      const d = await client.workflowService
        .describeTaskQueue({
          namespace: inject('clusterNamespace'),
          taskQueue: { name: queue },
          taskQueueType: WORKFLOW_QUEUE,
        })
        .catch(() => undefined);
      return d?.pollers.some((p) => p.identity?.startsWith(`${m.pid}@`));
    },
    `worker machine ${m.pid} to poll ${queue}`,
    120_000,
  );
}

async function bucketObjects(s3c: S3Client, prefix: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let token: string | undefined;
  do {
    const page = await s3c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const body = await s3c.send(new GetObjectCommand({ Bucket: BUCKET, Key: o.Key! }));
      out.set(o.Key!.slice(prefix.length), Buffer.from(await body.Body!.transformToByteArray()));
    }
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

const WORKFLOW_QUEUE = temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('a batch that spans machines', () => {
  it('survives losing each worker machine and the Temporal server, with its files only in a bucket', async () => {
    const queue = `fleet-${process.pid}`;
    const batchId = `fleet-${Date.now()}`;
    const server = new TemporalServer(inject('clusterWork'), inject('clusterAddress'), inject('clusterNamespace'));
    const hiddenFrom = (own: string) => [home, inject('clusterWork'), s3.root, ...dirs.filter((d) => d !== own)];
    const machine = (i: number) => {
      const dir = dirs[i]!;
      const m = startWorkerMachine(['--task-queue', queue], {
        hide: hiddenFrom(dir),
        env: machineEnv(dir, queue),
        cwd: dir,
        logFile: path.join(home, 'logs', `machine-${i}.log`),
      });
      machines.push(m);
      return m;
    };

    const itemsFile = path.join(home, 'items.jsonl');
    const lines = Array.from({ length: ITEMS }, (_, i) =>
      JSON.stringify({ id: `img${String(i).padStart(3, '0')}`, prompt: prompt(i) }),
    );
    fs.writeFileSync(itemsFile, lines.join('\n') + '\n');
    expect(fs.statSync(itemsFile).size).toBeGreaterThan(INLINE_LIMIT_BYTES);

    // A machine cannot see this one's folder (the items file is not there for it): its disk is its own.
    const probe = startMachine(
      [process.execPath, '-e', `process.exit(require('fs').existsSync(process.argv[1])?1:0)`, itemsFile],
      {
        hide: hiddenFrom(dirs[0]!),
        env: machineEnv(dirs[0]!, queue),
        logFile: path.join(home, 'logs', 'probe.log'),
      },
    );
    expect(await probe.exited).toBe(0);

    let a = machine(0);
    let b = machine(1);
    await Promise.all([polling(a, queue), polling(b, queue)]);

    const env = machineEnv(home, queue);
    const started = await cli(
      // prettier-ignore
      ['start', itemsFile, '--out', `s3://${BUCKET}/${PREFIX}`, '--batch-id', batchId, '--provider', 'volcengine',
        '--concurrency', '24', '--poll-interval', '0.5', '--max-wait', '60', '--task-queue', queue, '--json'],
      env,
    );
    expect(started.code).toBe(0);
    const handle = client.workflow.getHandle(`batch-${batchId}`);

    // The kills, each at a point in the batch read from the provider's own count of accepted submissions.
    const submitted = (n: number) => waitFor(() => sim.stats().submissions >= n, `${n} submissions`, 300_000);
    const kills: string[] = [];
    const killed = (what: string) => kills.push(`${what} at ${sim.stats().submissions}`);
    await submitted(50);
    await a.kill();
    killed('machine a');
    a = machine(2);
    await submitted(110);
    await server.kill();
    killed('server');
    await server.start();
    await submitted(170);
    await b.kill();
    killed('machine b');
    b = machine(3);
    await Promise.all([polling(a, queue), polling(b, queue)]);

    // The batch's end, read from the server (which may still be catching up after its restart).
    await waitFor(
      async () => {
        const d = await handle.describe().catch(() => undefined);
        return d && d.status.name !== 'RUNNING' && d.status.name !== 'CONTINUED_AS_NEW';
      },
      'the batch to end',
      600_000,
    );
    const summary = (await handle.result()) as { total: number; succeeded: number; failed: number };
    expect(summary).toMatchObject({ total: ITEMS, succeeded: ITEMS, failed: 0 });

    // Paid twice for at most one image per kill, never three times for one.
    const stats = sim.stats();
    console.log(`fleet: ${stats.submissions} accepted submissions for ${ITEMS} images; killed ${kills.join(', ')}`);
    expect(Object.keys(stats.submissionsByPrompt)).toHaveLength(ITEMS);
    expect(stats.submissions - ITEMS).toBeLessThanOrEqual(kills.length);
    expect(Object.values(stats.submissionsByPrompt).filter((c) => c > 2)).toEqual([]);

    // The bucket: the items copy the workers paged in, the manifest, the gallery, and each image once with the
    // manifest's sha256.
    const s3c = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
    });
    const objects = await bucketObjects(s3c, `${PREFIX}/${batchId}/`);
    s3c.destroy();
    expect(objects.has('.imagebatch/items.jsonl')).toBe(true);
    const manifest = JSON.parse(objects.get('manifest.json')!.toString()) as Manifest;
    expect(manifest.items).toHaveLength(ITEMS);
    expect(manifest.items.filter((e) => e.status !== 'succeeded')).toEqual([]);
    const imageKeys = [...objects.keys()].filter((k) => !isBatchFile(k) && !k.endsWith('.json'));
    expect(imageKeys.sort()).toEqual(manifest.items.map((e) => e.file!).sort());
    for (const e of manifest.items) expect(sha256(objects.get(e.file!)!), e.file!).toBe(e.sha256);
    const gallery = objects.get('index.html')!.toString();
    for (const e of manifest.items) expect(gallery).toContain(e.file!);

    // pull: the same files as the bucket, byte for byte.
    const pulled = await cli(['pull', batchId, '--out', path.join(home, 'pulled')], env);
    expect(pulled.code).toBe(0);
    const local = path.join(home, 'pulled', batchId);
    const localFiles = walk(local).filter((f) => !f.startsWith('.imagebatch'));
    const bucketFiles = [...objects.keys()].filter((k) => !k.startsWith('.imagebatch'));
    expect(localFiles.sort()).toEqual(bucketFiles.sort());
    for (const f of bucketFiles) expect(sha256(fs.readFileSync(path.join(local, f))), f).toBe(sha256(objects.get(f)!));
  });
});

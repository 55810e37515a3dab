// A real S3 server for the tests: versitygw (Apache-2.0) over a temporary folder, which checks every request's
// signature (a wrong secret is a 403, as on AWS). Built once with Go into the user cache, like the Temporal CLI.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../src/temporal/dev-server-process';
import { cacheDir } from '../../src/temporal/find-cli';
import { stopPid } from '../../src/temporal/pids';

const VERSION = 'v1.8.0';
const PKG = `github.com/versity/versitygw/cmd/versitygw@${VERSION}`;

export interface S3Server {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** The variables a process (a store, the CLI) needs to use this server: endpoint, credentials, region. */
  env: NodeJS.ProcessEnv;
  /** The folder buckets live in (a bucket is a folder under it). */
  root: string;
  /** Creates a bucket (CreateBucket, signed like any request) and returns its name. */
  createBucket(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** The versitygw binary in the cache, built with `go install` the first time (about 3 CPU-minutes). */
export async function versitygwBinary(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = path.join(cacheDir(env), `versitygw-${VERSION.slice(1)}`);
  const binary = path.join(dir, 'versitygw');
  if (fs.existsSync(binary)) return binary;
  fs.mkdirSync(dir, { recursive: true });
  // Two test files may ask at once: one builds, the other waits for the binary (the lock is a folder: mkdir is atomic).
  const lock = path.join(dir, '.building');
  try {
    fs.mkdirSync(lock);
  } catch {
    await until(() => fs.existsSync(binary) || !fs.existsSync(lock), 15 * 60_000, 'versitygw to be built');
    if (fs.existsSync(binary)) return binary;
    return versitygwBinary(env);
  }
  try {
    const go = fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
    console.error(`test: building ${PKG} into ${dir} (once)`);
    const child = spawn(go, ['install', PKG], { env: { ...env, GOBIN: dir }, stdio: ['ignore', 'inherit', 'inherit'] });
    const code = await exitOf(child);
    if (code !== 0 || !fs.existsSync(binary)) throw new Error(`go install ${PKG} failed (exit ${code})`);
    return binary;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Starts versitygw on a free loopback port over a new temporary folder; resolves once it answers HTTP. */
export async function startS3Server(): Promise<S3Server> {
  const binary = await versitygwBinary();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'imagebatch-s3-'));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const accessKey = 'imagebatch-test';
  const secretKey = `secret-${process.pid}-${port}`;
  const child = spawn(binary, ['--port', `127.0.0.1:${port}`, 'posix', root], {
    env: { ...process.env, ROOT_ACCESS_KEY: accessKey, ROOT_SECRET_KEY: secretKey },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  try {
    await until(
      async () => {
        if (exited !== undefined) throw new Error(`versitygw exited (${exited}): ${stderr.trim()}`);
        // Any HTTP answer (an unsigned request gets 403) means it serves.
        return fetch(endpoint).then(
          () => true,
          () => false,
        );
      },
      30_000,
      `versitygw to answer on ${endpoint}`,
    );
  } catch (err) {
    await stopPid(child.pid);
    throw err;
  }
  const env: NodeJS.ProcessEnv = {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: accessKey,
    AWS_SECRET_ACCESS_KEY: secretKey,
    // Set, so that a region in the machine's own AWS profile does not reach the test server.
    AWS_REGION: 'us-east-1',
  };
  const admin = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
  });
  return {
    endpoint,
    accessKey,
    secretKey,
    env,
    root,
    async createBucket(name) {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async stop() {
      admin.destroy();
      await stopPid(child.pid);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

async function until(ok: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  });
}

// Who uses a file-backed dev server that an imagebatch process started on this machine, so that the last one to
// finish stops it, not the first. Two `imagebatch run` at once share one embedded server (one SQLite file can be
// served by one server only): the first starts it, the second attaches (through the port, or by asking to start a
// server on the same file), and whichever ends last stops it. Kept as files under the user cache:
// `servers/<port>.json` names the server (pid, address, database), `servers/<port>.users/<pid>` marks a process that
// uses it. A process that died without saying so is recognised by its pid being gone.
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from './find-cli';
import { isAlive } from './pids';

export interface ServerEntry {
  pid: number;
  port: number;
  address: string;
  uiUrl?: string;
  /** Absolute path of its SQLite file. */
  db: string;
  namespace: string;
}

const root = () => path.join(cacheDir(), 'servers');
const entryFile = (port: number) => path.join(root(), `${port}.json`);
const usersDir = (port: number) => path.join(root(), `${port}.users`);
const lockFile = () => path.join(root(), 'lock');

export const logFileFor = (port: number) => path.join(root(), `${port}.log`);

/** Alive and, where /proc tells, still a dev server: a pid since reused by another program is not signalled. */
function isDevServer(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start-dev');
  } catch {
    return true;
  }
}

/** The port of a loopback address (`localhost:7233`, `127.0.0.1:7233`): servers started here are reached so. */
function loopbackPort(address: string): number | undefined {
  const m = /^(localhost|127\.0\.0\.1|\[::1\]):(\d+)$/.exec(address);
  return m ? Number(m[2]) : undefined;
}

/** A connection to a server registered here makes this process one of its users, so it is not stopped under it. */
export async function joinServerAt(address: string): Promise<void> {
  const port = loopbackPort(address);
  if (port === undefined || !fs.existsSync(entryFile(port))) return;
  await withLock(async () => {
    if (serverOn(port)) addUser(port);
  }).catch(() => undefined); // an unwritable cache costs the sharing, not the connection
}

/** The live server registered on `port`; an entry whose server has died is removed. */
function serverOn(port: number): ServerEntry | undefined {
  let entry: ServerEntry;
  try {
    entry = JSON.parse(fs.readFileSync(entryFile(port), 'utf8')) as ServerEntry;
  } catch {
    return undefined;
  }
  if (isDevServer(entry.pid)) return entry;
  fs.rmSync(entryFile(port), { force: true });
  return undefined;
}

/** The live server registered for the SQLite file `db`. */
export function serverOf(db: string): ServerEntry | undefined {
  const ports = fs.existsSync(root()) ? fs.readdirSync(root()) : [];
  for (const name of ports) {
    const m = /^(\d+)\.json$/.exec(name);
    const entry = m ? serverOn(Number(m[1])) : undefined;
    if (entry?.db === db) return entry;
  }
  return undefined;
}

export function register(entry: ServerEntry): void {
  fs.mkdirSync(root(), { recursive: true });
  fs.writeFileSync(entryFile(entry.port), JSON.stringify(entry));
}

/** Ports this process uses a registered server on: released when it exits, however it exits normally. */
const using = new Set<number>();
let hooked = false;

/** Marks this process as a user of the server on `port` (call it holding the lock, so no last user stops it now). */
export function addUser(port: number): void {
  fs.mkdirSync(usersDir(port), { recursive: true });
  fs.writeFileSync(path.join(usersDir(port), String(process.pid)), '');
  using.add(port);
  if (!hooked) process.once('exit', releaseAll);
  hooked = true;
}

/** Live processes other than this one that use the server on `port` (files of dead ones are removed). */
function otherUsers(port: number): number[] {
  const pids = fs.existsSync(usersDir(port)) ? fs.readdirSync(usersDir(port)).map(Number) : [];
  return pids.filter((pid) => {
    if (pid === process.pid) return false;
    if (isAlive(pid)) return true;
    fs.rmSync(path.join(usersDir(port), String(pid)), { force: true });
    return false;
  });
}

/**
 * This process no longer uses the server on `port`. Returns the server when no one else does (it is unregistered:
 * the caller stops it), undefined while others still use it.
 */
export function release(port: number): ServerEntry | undefined {
  using.delete(port);
  return withLockSync(() => {
    fs.rmSync(path.join(usersDir(port), String(process.pid)), { force: true });
    if (otherUsers(port).length) return undefined;
    const entry = serverOn(port);
    for (const file of [entryFile(port), usersDir(port), logFileFor(port)])
      fs.rmSync(file, { recursive: true, force: true });
    return entry;
  });
}

/** At exit (no time to wait): the last user of a server asks it to stop. */
function releaseAll(): void {
  for (const port of [...using]) {
    try {
      const last = release(port);
      if (last) process.kill(last.pid, 'SIGTERM');
    } catch {
      // Exiting anyway; the next user of the server finds it and stops it when it is done.
    }
  }
}

function tryLock(): boolean {
  fs.mkdirSync(root(), { recursive: true });
  try {
    fs.writeFileSync(lockFile(), String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // A holder that died leaves its lock; one that has not written its pid yet is given a few seconds.
  try {
    const holder = Number(fs.readFileSync(lockFile(), 'utf8'));
    const age = Date.now() - fs.statSync(lockFile()).mtimeMs;
    if ((holder && !isAlive(holder)) || (!holder && age > 5000)) fs.rmSync(lockFile(), { force: true });
  } catch {
    // Gone meanwhile: the next try takes it.
  }
  return false;
}

const unlock = () => fs.rmSync(lockFile(), { force: true });

/** Runs `fn` holding the registry's lock; waits for it as long as a server start may take, then goes ahead. */
export async function withLock<T>(fn: () => Promise<T>, waitMs = 90_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  let held = tryLock();
  while (!held && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    held = tryLock();
  }
  try {
    return await fn();
  } finally {
    if (held) unlock();
  }
}

/** The same, synchronous (stopping, or at exit): waits briefly, then goes ahead without the lock. */
function withLockSync<T>(fn: () => T, waitMs = 2000): T {
  const deadline = Date.now() + waitMs;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let held = tryLock();
  while (!held && Date.now() < deadline) {
    Atomics.wait(nap, 0, 0, 20);
    held = tryLock();
  }
  try {
    return fn();
  } finally {
    if (held) unlock();
  }
}

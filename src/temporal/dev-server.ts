// Starts a Temporal dev server (`temporal server start-dev`) for imagebatch. An in-memory one belongs to the process
// that starts it. A file-backed one (the embedded server of `run` and `worker`) is shared: another imagebatch process
// that wants a server on the same database attaches to the running one, and the server stops when the last process
// using it is done, so two `imagebatch run` at once both finish (see server-registry.ts).
import { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TemporalUnreachable } from './connection';
import { answers, type DevServer, type DevServerOptions, freePort, spawnDevServer } from './dev-server-process';
import { stopPid } from './pids';
import { addUser, logFileFor, register, release, type ServerEntry, serverOf, withLock } from './server-registry';

export { type DevServer, type DevServerOptions, freePort } from './dev-server-process';

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const namespace = options.namespace ?? 'default';
  if (!options.db) {
    const { child, address, uiUrl } = await spawnDevServer(options);
    return { address, namespace, uiUrl, process: child, stop: () => stopPid(child.pid) };
  }
  const db = path.resolve(options.db);
  // Held while the server starts: a second process asking for the same database meanwhile waits, then attaches.
  return withLock(async () => {
    const running = serverOf(db);
    if (running) return attach(running);
    // The cache folder exists only once something made it (a Go build does, a `temporal` already on PATH does not).
    fs.mkdirSync(path.dirname(db), { recursive: true });
    const port = options.port || (await freePort(options.ip));
    const { child, address, uiUrl } = await spawnDevServer({ ...options, db, port }, logFileFor(port));
    const entry: ServerEntry = { pid: child.pid!, port, address, uiUrl, db, namespace };
    register(entry);
    addUser(port);
    return shared(entry, child, false);
  });
}

async function attach(entry: ServerEntry): Promise<DevServer> {
  for (let i = 0; i < 5 && !(await answers(entry.address)); i++) await new Promise((r) => setTimeout(r, 1000));
  // A live server that does not answer still holds the database: a second server on it would corrupt it.
  if (!(await answers(entry.address)))
    throw new TemporalUnreachable(
      `a Temporal dev server (pid ${entry.pid}) runs on ${entry.db} but does not answer on ${entry.address}: ` +
        'stop it, or use another --db',
    );
  addUser(entry.port);
  // Not this process's child: there is no process handle to give.
  return shared(entry, new ChildProcess(), true);
}

function shared(entry: ServerEntry, child: ChildProcess, attached: boolean): DevServer {
  return {
    address: entry.address,
    namespace: entry.namespace,
    uiUrl: entry.uiUrl,
    process: child,
    attached,
    async stop() {
      // Others still using it keep it running; the last of them stops it.
      const last = release(entry.port);
      if (last) await stopPid(last.pid);
    },
  };
}

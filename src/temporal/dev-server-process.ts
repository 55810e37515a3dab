// One `temporal server start-dev` process with the project's search attributes registered: started, waited for
// until its frontend answers, stopped. Whether several imagebatch processes share it is dev-server.ts's business.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import { TemporalUnreachable } from './connection';

export interface DevServerOptions {
  binary: string;
  ip?: string;
  /** gRPC port; 0 picks a free one. */
  port?: number;
  /** Web UI port; 0 picks a free one, `false` runs headless. */
  uiPort?: number | false;
  /** SQLite file; in-memory when absent. A file-backed server is shared by the imagebatch processes that use it. */
  db?: string;
  namespace?: string;
  /** Extra `--dynamic-config-value KEY=JSON` settings. */
  dynamicConfig?: Record<string, unknown>;
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'never';
  /** Where the server's own output goes; ignored when absent. */
  output?: 'inherit' | 'ignore';
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  /** The server's process; an unspawned placeholder when this process attached to a server another one started. */
  process: ChildProcess;
  /** True when another imagebatch process had started the server (same database) and this one attached to it. */
  attached?: boolean;
  /** Stops the server, or, while other imagebatch processes still use it, leaves it running for them. */
  stop(): Promise<void>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether something listens on (or holds) `port`: the dev server would die on it, and another server may answer. */
async function portTaken(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(true));
    srv.listen(port, host, () => srv.close(() => resolve(false)));
  });
}

export function devServerArgs(o: DevServerOptions & { port: number; uiPort: number | false }): string[] {
  const args = ['server', 'start-dev', '--ip', o.ip ?? '127.0.0.1', '--port', String(o.port)];
  args.push('--namespace', o.namespace ?? 'default', '--log-level', o.logLevel ?? 'warn');
  if (o.uiPort === false) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort));
  if (o.db) {
    // WAL and no fsync per commit, as the SDK's own stress tests run a file-backed dev server.
    args.push('--db-filename', o.db, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF');
  }
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=Keyword`);
  for (const [k, v] of Object.entries(o.dynamicConfig ?? {})) {
    args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  }
  return args;
}

export async function answers(address: string): Promise<boolean> {
  let conn: Connection | undefined;
  try {
    conn = await Connection.connect({ address, connectTimeout: 1000 });
    await conn.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await conn?.close().catch(() => undefined);
  }
}

export interface SpawnedServer {
  child: ChildProcess;
  address: string;
  uiUrl?: string;
}

/**
 * Starts the server and waits until it answers. `logFile`: its output goes there rather than to a pipe, and it runs
 * in its own process group, so it outlives this process (for others that use it) and a Ctrl-C here does not reach it.
 */
export async function spawnDevServer(options: DevServerOptions, logFile?: string): Promise<SpawnedServer> {
  const ip = options.ip ?? '127.0.0.1';
  // A port already taken: the server would die at once while another server there answered, looking like success.
  for (const [what, p] of [
    ['port', options.port],
    ['Web UI port', options.uiPort],
  ] as const) {
    if (p && (await portTaken(p, ip)))
      throw new TemporalUnreachable(
        `cannot start a Temporal dev server: ${what} ${p} on ${ip} is already in use (another Temporal server?)`,
      );
  }
  const port = options.port || (await freePort(ip));
  const uiPort = options.uiPort === false ? false : options.uiPort || (await freePort(ip));
  const log = logFile ? fs.openSync(logFile, 'w') : undefined;
  const child = spawn(options.binary, devServerArgs({ ...options, port, uiPort }), {
    // stderr is kept for the error message; the server logs connection noise there while it shuts down.
    stdio: ['ignore', options.output === 'inherit' ? 'inherit' : (log ?? 'ignore'), log ?? 'pipe'],
    detached: Boolean(logFile),
  });
  if (log !== undefined) fs.closeSync(log);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const output = () => (logFile ? tail(logFile) : stderr).trim();
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  const address = `${ip}:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited !== undefined)
      throw new TemporalUnreachable(`the Temporal dev server exited (code ${exited}) at start: ${output()}`);
    // Answering is not enough: it must still be ours that runs (the ports were free just before it started).
    if ((await answers(address)) && exited === undefined && child.exitCode === null) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new TemporalUnreachable(`the Temporal dev server did not answer on ${address} in time: ${output()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (logFile) child.unref();
  return { child, address, uiUrl: uiPort === false ? undefined : `http://${ip}:${uiPort}` };
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '';
  }
}

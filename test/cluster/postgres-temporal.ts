// A real Temporal server (v1.29.1, the one the CLI v1.5.1 embeds) on a private PostgreSQL 15 instance, for the
// cluster tier. PostgreSQL runs from its own data folder on its own port (no durability: fsync off); the server's
// ports are free ones, so neither collides with the integration tier's dev server or with Debian's main cluster.
// The server is a process of its own the test may SIGKILL and start again on the same database.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { freePort } from '../../src/temporal/dev-server';
import { isAlive } from '../../src/temporal/pids';
import { SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';

const SERVER_VERSION = '1.29.1';
const NAMESPACE = 'default';

/** Where .ci/run builds the server and its SQL tool (`GOBIN=... go install`). */
export function serverBinDir(): string {
  return path.join(os.homedir(), '.cache', 'imagebatch', `server-${SERVER_VERSION}`);
}

function postgresBin(tool: string): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) throw new Error('PostgreSQL is not installed (Debian: apt-get install -y postgresql)');
  return path.join(root, versions[0]!, 'bin', tool);
}

/** PostgreSQL refuses to run as root: as root, its tools run as the postgres user. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  execFileSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

export interface Postgres {
  port: number;
  stop(): void;
}

export async function startPostgres(work: string): Promise<Postgres> {
  const data = path.join(work, 'pg');
  fs.mkdirSync(data, { recursive: true, mode: 0o700 });
  fs.chmodSync(work, 0o755);
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', data]);
  run(...asPostgres(postgresBin('initdb'), ['-D', data, '-A', 'trust', '-U', 'temporal', '--no-sync', '-E', 'UTF8']));
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    `-k ${data}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
  const log = path.join(data, 'postgres.log');
  run(...asPostgres(postgresBin('pg_ctl'), ['-D', data, '-l', log, '-w', '-o', settings, 'start']));
  return {
    port,
    stop: () => run(...asPostgres(postgresBin('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'])),
  };
}

/** The server's schema files, copied beside the binaries by .ci/cluster-tools.sh. */
function schemaDir(): string {
  const dir = path.join(serverBinDir(), 'schema', 'postgresql', 'v12');
  if (!fs.existsSync(dir)) throw new Error(`no Temporal server schema in ${dir}: run bash .ci/cluster-tools.sh`);
  return dir;
}

/** The two databases and their schema, with the server's own SQL tool. */
function createDatabases(pgPort: number): void {
  const sql = path.join(serverBinDir(), 'sql');
  const env = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: '127.0.0.1',
    SQL_PORT: String(pgPort),
    SQL_USER: 'temporal',
    SQL_PASSWORD: 'temporal',
  };
  for (const [db, schema] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    run(sql, ['--db', db, 'create-database'], env);
    run(sql, ['--db', db, 'setup-schema', '-v', '0.0'], env);
    run(sql, ['--db', db, 'update-schema', '-d', path.join(schemaDir(), schema, 'versioned')], env);
  }
}

/**
 * A free port below 32768: the server stores membership ports in a smallint column, and the system's ephemeral
 * ports (what port 0 gives) are above it. Drawn at random so two runs on one machine rarely meet.
 */
async function freeLowPort(taken: number[]): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (!taken.includes(port) && (await isFree(port))) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function writeServerConfig(work: string, pgPort: number): Promise<string> {
  const ports: number[] = [];
  for (let i = 0; i < 9; i++) ports.push(await freeLowPort(ports));
  const [frontend, http, history, matching, worker, ...membership] = ports as [number, ...number[]];
  const store = (db: string, conns: number) =>
    `{ sql: { pluginName: postgres12, databaseName: ${db}, connectAddr: "127.0.0.1:${pgPort}", connectProtocol: tcp, ` +
    `user: temporal, password: temporal, maxConns: ${conns}, maxIdleConns: ${conns}, maxConnLifetime: 1h } }`;
  const service = (grpc: number, member: number, extra = '') =>
    `{ rpc: { grpcPort: ${grpc}, membershipPort: ${member}, bindOnLocalHost: true${extra} } }`;
  const config = path.join(work, 'config');
  fs.mkdirSync(config, { recursive: true });
  fs.writeFileSync(
    path.join(config, 'development.yaml'),
    `log: { stdout: true, level: warn }
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 2
  datastores:
    default: ${store('temporal', 20)}
    visibility: ${store('temporal_visibility', 4)}
global:
  membership: { maxJoinDuration: 30s, broadcastAddress: "127.0.0.1" }
services:
  frontend: ${service(frontend, membership[0]!, `, httpPort: ${http}`)}
  history: ${service(history, membership[1]!)}
  matching: ${service(matching, membership[2]!)}
  worker: ${service(worker, membership[3]!)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active: { enabled: true, initialFailoverVersion: 1, rpcName: frontend, rpcAddress: "127.0.0.1:${frontend}" }
dcRedirectionPolicy: { policy: noop }
dynamicConfigClient: { filepath: "${path.join(config, 'dynamic.yaml')}", pollInterval: 10s }
`,
  );
  // What `temporal server start-dev` sets that imagebatch relies on (search attributes seen at once).
  fs.writeFileSync(
    path.join(config, 'dynamic.yaml'),
    `system.forceSearchAttributesCacheRefreshOnRead: [{ value: true }]
frontend.namespaceRPS.visibility: [{ value: 100 }]
history.hostLevelCacheMaxSize: [{ value: 8096 }]
`,
  );
  return `127.0.0.1:${frontend}`;
}

async function until(what: string, ms: number, check: () => Promise<boolean>, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (!alive()) throw new Error(`the Temporal server exited while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`the Temporal server: no ${what} within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250)); // polling a server that is starting, not synchronising a test
  }
}

async function attempt(address: string, fn: (c: Connection) => Promise<unknown>): Promise<boolean> {
  let c: Connection | undefined;
  try {
    c = await Connection.connect({ address, connectTimeout: 2000 });
    await fn(c);
    return true;
  } catch {
    return false;
  } finally {
    await c?.close().catch(() => undefined);
  }
}

/** The Temporal server process over the work folder's config: started, SIGKILLed, started again on the same data. */
export class TemporalServer {
  constructor(
    readonly work: string,
    readonly address: string,
    readonly namespace = NAMESPACE,
  ) {}

  private get pidFile() {
    return path.join(this.work, 'server.pid');
  }

  /** Starts the server and resolves once the namespace answers (after a kill: once its shards are back). */
  async start(): Promise<void> {
    this.spawn();
    await this.ready();
  }

  /** Resolves once the namespace answers. */
  async ready(): Promise<void> {
    await until(
      'namespace',
      90_000,
      () => attempt(this.address, (c) => c.workflowService.describeNamespace({ namespace: this.namespace })),
      () => this.alive(),
    );
  }

  /** The process only; a first start registers the namespace before it can answer for it. */
  spawn(): void {
    const log = fs.openSync(path.join(this.work, 'server.log'), 'a');
    const args = ['--root', this.work, '--config', 'config', '--env', 'development', 'start'];
    // Its own process group: a kill takes the whole server, and a Ctrl-C on the test run does not.
    const child = spawn(path.join(serverBinDir(), 'server'), args, { stdio: ['ignore', log, log], detached: true });
    fs.closeSync(log);
    child.unref();
    fs.writeFileSync(this.pidFile, String(child.pid));
  }

  alive(): boolean {
    const pid = readPid(this.pidFile);
    return pid !== undefined && isAlive(pid);
  }

  /** SIGKILL, as a machine lost; resolves once the process is gone. Any process may kill it (the pid is on disk). */
  async kill(): Promise<void> {
    const pid = readPid(this.pidFile);
    if (pid === undefined || !isAlive(pid)) return;
    process.kill(-pid, 'SIGKILL');
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  }
}

function readPid(file: string): number | undefined {
  try {
    return Number(fs.readFileSync(file, 'utf8')) || undefined;
  } catch {
    return undefined;
  }
}

/** First start: the namespace and imagebatch's search attributes, then a start that is accepted end to end. */
async function register(server: TemporalServer): Promise<void> {
  const alive = () => server.alive();
  await until('frontend', 90_000, () => attempt(server.address, (c) => c.workflowService.getSystemInfo({})), alive);
  await until(
    'namespace registration',
    60_000,
    () =>
      attempt(server.address, async (c) => {
        try {
          await c.workflowService.registerNamespace({
            namespace: server.namespace,
            workflowExecutionRetentionPeriod: msToTs('1 day'),
          });
        } catch (err) {
          if (!/already exists/i.test((err as Error).message)) throw err;
        }
      }),
    alive,
  );
  const Keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await until(
    'search attributes',
    60_000,
    () =>
      attempt(server.address, (c) =>
        c.operatorService.addSearchAttributes({
          namespace: server.namespace,
          searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, Keyword])),
        }),
      ),
    alive,
  );
}

export interface PostgresCluster {
  server: TemporalServer;
  stop(): Promise<void>;
}

/** PostgreSQL, the schema, the server's config and a first start with the namespace registered. */
export async function startPostgresCluster(work: string): Promise<PostgresCluster> {
  for (const bin of ['server', 'sql']) {
    if (!fs.existsSync(path.join(serverBinDir(), bin)))
      throw new Error(`no Temporal server build in ${serverBinDir()}: run bash .ci/cluster-tools.sh (.ci/run does)`);
  }
  const pg = await startPostgres(work);
  try {
    createDatabases(pg.port);
    const address = await writeServerConfig(work, pg.port);
    const server = new TemporalServer(work, address);
    server.spawn();
    await register(server);
    await server.ready();
    return {
      server,
      async stop() {
        await server.kill();
        pg.stop();
      },
    };
  } catch (err) {
    pg.stop();
    throw err;
  }
}

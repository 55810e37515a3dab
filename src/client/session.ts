// How a command reaches Temporal: a configured server (TEMPORAL_ADDRESS or a profile), else a dev server
// already listening on localhost:7233, else an embedded dev server this process starts (SQLite file under the
// user cache, so a batch survives the process) and stops on exit.
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import {
  connectClient,
  connectWorker,
  hasConfiguredServer,
  loadTarget,
  type TemporalTarget,
  TemporalUnreachable,
} from '../temporal/connection';
import { cacheDir, findTemporalCli } from '../temporal/find-cli';
import { type DevServer, freePort, startDevServer } from '../temporal/dev-server';

export interface Session {
  target: TemporalTarget;
  client: Client;
  /** The Web UI's base URL when known (embedded or local dev server, or TEMPORAL_UI_URL). */
  uiUrl?: string;
  embedded?: DevServer;
  nativeConnection(): Promise<NativeConnection>;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** Start an embedded dev server when no server is configured or running (run, worker); else fail (start, status…). */
  allowEmbedded: boolean;
  db?: string;
  log?: (line: string) => void;
}

async function tryConnect(target: TemporalTarget): Promise<Client | undefined> {
  try {
    return await connectClient(target);
  } catch {
    return undefined;
  }
}

export function defaultDb(): string {
  return path.join(cacheDir(), 'dev-server.db');
}

export async function openSession(o: SessionOptions): Promise<Session> {
  const log = o.log ?? ((l: string) => console.error(l));
  let target: TemporalTarget;
  let client: Client | undefined;
  let embedded: DevServer | undefined;
  let uiUrl = process.env.TEMPORAL_UI_URL;
  if (hasConfiguredServer()) {
    target = loadTarget();
    client = await connectClient(target);
  } else {
    target = loadTarget({ address: 'localhost:7233' });
    client = await tryConnect(target);
    if (client) uiUrl ??= 'http://localhost:8233';
    else if (!o.allowEmbedded) {
      throw new TemporalUnreachable(
        'no Temporal server: set TEMPORAL_ADDRESS, or start one with `imagebatch dev-server` (nothing answers on localhost:7233)',
      );
    } else {
      const binary = await findTemporalCli({ log });
      const db = o.db ?? defaultDb();
      embedded = await startDevServer({ binary, port: await portOr(7233), uiPort: await portOr(8233), db });
      target = loadTarget({ address: embedded.address });
      client = await connectClient(target);
      uiUrl = embedded.uiUrl;
      log(
        embedded.attached
          ? `imagebatch: using the Temporal dev server another imagebatch process started on ${embedded.address} (state in ${db})`
          : `imagebatch: started a Temporal dev server on ${embedded.address} (state in ${db})`,
      );
    }
  }
  let native: NativeConnection | undefined;
  return {
    target,
    client,
    uiUrl,
    embedded,
    async nativeConnection() {
      native ??= await connectWorker(target);
      return native;
    },
    async close() {
      await client?.connection.close().catch(() => undefined);
      await native?.close().catch(() => undefined);
      await embedded?.stop();
    },
  };
}

/** Runs `fn` with a session that may start the embedded dev server (commands on existing batches), then closes it. */
export async function withSession<T>(fn: (s: Session) => Promise<T>, db?: string): Promise<T> {
  const session = await openSession({ allowEmbedded: true, db });
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

/** The preferred port if it is free, else a free one. */
async function portOr(preferred: number): Promise<number> {
  const net = await import('node:net');
  const free = await new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(preferred, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  return free ? preferred : freePort();
}

export function batchUiLink(uiUrl: string | undefined, namespace: string, workflowId: string): string | undefined {
  if (!uiUrl) return undefined;
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

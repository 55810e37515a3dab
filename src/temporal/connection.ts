// One connection config for every command and the worker: @temporalio/envconfig reads TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_GRPC_META_*, TEMPORAL_PROFILE and the config file.
// Everything it loads (API key, TLS, gRPC metadata headers) reaches the connection as loaded: a production cluster
// behind a proxy that routes or authorises by header needs every header on every call.
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig, type LoadClientProfileOptions } from '@temporalio/envconfig';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { joinServerAt } from './server-registry';

export interface TemporalTarget {
  address: string;
  namespace: string;
  /** What envconfig loaded besides the address (apiKey, tls, metadata), passed to every connection. */
  options: Omit<NativeConnectionOptions, 'address'>;
}

export class TemporalUnreachable extends Error {
  name = 'TemporalUnreachable';
}

/** True when the user pointed imagebatch at a server (env or profile), so no embedded server is wanted. */
export function hasConfiguredServer(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.TEMPORAL_ADDRESS || env.TEMPORAL_PROFILE || env.TEMPORAL_CONFIG_FILE);
}

/** The configured target; `address` replaces the loaded one (a local or embedded dev server). */
export function loadTarget(override: { address?: string } = {}, load: LoadClientProfileOptions = {}): TemporalTarget {
  const config = loadClientConnectConfig(load);
  const { address, ...options } = config.connectionOptions;
  return {
    address: override.address ?? address ?? 'localhost:7233',
    namespace: config.namespace ?? 'default',
    options: dropUndefined(options),
  };
}

/** The options one connection is opened with: the same for the client (every command) and the worker. */
export function connectionOptions(t: TemporalTarget): NativeConnectionOptions {
  return { ...t.options, address: t.address };
}

export async function connectClient(t: TemporalTarget): Promise<Client> {
  // A dev server another imagebatch process started here stays up while this process uses it.
  await joinServerAt(t.address);
  try {
    const connection = await Connection.connect({ ...connectionOptions(t), connectTimeout: 5000 });
    return new Client({ connection, namespace: t.namespace });
  } catch (err) {
    throw new TemporalUnreachable(`cannot reach Temporal at ${t.address}: ${(err as Error).message}`);
  }
}

export async function connectWorker(t: TemporalTarget): Promise<NativeConnection> {
  await joinServerAt(t.address);
  try {
    return await NativeConnection.connect(connectionOptions(t));
  } catch (err) {
    throw new TemporalUnreachable(`cannot reach Temporal at ${t.address}: ${(err as Error).message}`);
  }
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

// One connection config for every command: @temporalio/envconfig reads TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the config file.
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { joinServerAt } from './server-registry';

export interface TemporalTarget {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: unknown;
}

export class TemporalUnreachable extends Error {
  name = 'TemporalUnreachable';
}

/** True when the user pointed imagebatch at a server (env or profile), so no embedded server is wanted. */
export function hasConfiguredServer(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.TEMPORAL_ADDRESS || env.TEMPORAL_PROFILE || env.TEMPORAL_CONFIG_FILE);
}

export function loadTarget(overrides: Partial<TemporalTarget> = {}): TemporalTarget {
  const config = loadClientConnectConfig();
  const opts = config.connectionOptions as { address?: string; apiKey?: string; tls?: unknown };
  return {
    address: overrides.address ?? opts.address ?? 'localhost:7233',
    namespace: overrides.namespace ?? config.namespace ?? 'default',
    apiKey: overrides.apiKey ?? opts.apiKey,
    tls: overrides.tls ?? opts.tls,
  };
}

function connectionOptions(t: TemporalTarget) {
  return { address: t.address, apiKey: t.apiKey, tls: t.tls as never };
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

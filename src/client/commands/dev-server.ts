// `imagebatch dev-server`: a local Temporal dev server with the project's search attributes.
import { findTemporalCli } from '../../temporal/find-cli';
import { startDevServer } from '../../temporal/dev-server';

export interface DevServerFlags {
  port: number;
  uiPort: number;
  db?: string;
  ip: string;
}

export async function devServerCommand(flags: DevServerFlags): Promise<number> {
  const binary = await findTemporalCli();
  const server = await startDevServer({
    binary,
    ip: flags.ip,
    port: flags.port,
    uiPort: flags.uiPort,
    db: flags.db,
    output: 'inherit',
  });
  console.log(`Temporal dev server: ${server.address} (namespace ${server.namespace})`);
  console.log(`Web UI: ${server.uiUrl}`);
  console.log(`Use it from another shell: export TEMPORAL_ADDRESS=${server.address}`);
  console.log('Ctrl-C stops it.');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    server.process.once('exit', stop);
  });
  await server.stop();
  console.log('dev server stopped');
  return 0;
}

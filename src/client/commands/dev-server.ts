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
  // Ctrl-C stops it (exit 0); a server that dies on its own is a failure, with its exit code.
  const died = await new Promise<number | null | undefined>((resolve) => {
    const stop = () => resolve(undefined);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    server.process.once('exit', (code) => resolve(code ?? 1));
  });
  await server.stop();
  if (died !== undefined) {
    console.error(`imagebatch: the dev server exited on its own (exit code ${died})`);
    return died || 1;
  }
  console.log('dev server stopped');
  return 0;
}

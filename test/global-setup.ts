// ONE real Temporal dev server for the whole test run (random free ports, search attributes registered).
import type { TestProject } from 'vitest/node';
import { findTemporalCli } from '../src/temporal/find-cli';
import { startDevServer } from '../src/temporal/dev-server';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalNamespace: string;
    temporalCli: string;
    temporalUiUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const binary = await findTemporalCli({ log: (l) => console.error(l) });
  // The Web UI is on (a free port) for the browser test.
  const server = await startDevServer({ binary, uiPort: 0 });
  project.provide('temporalAddress', server.address);
  project.provide('temporalNamespace', server.namespace);
  project.provide('temporalCli', binary);
  project.provide('temporalUiUrl', server.uiUrl!);
  return async () => {
    await server.stop();
  };
}

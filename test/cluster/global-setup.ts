// The cluster tier's server: a Temporal server on PostgreSQL (postgres-temporal.ts), once for the tier. Tests get its
// address and work folder; they may kill and restart the server (the pid is in the work folder, so the teardown
// stops whichever process is running then).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startPostgresCluster } from './postgres-temporal';

declare module 'vitest' {
  export interface ProvidedContext {
    clusterAddress: string;
    clusterNamespace: string;
    clusterWork: string;
  }
}

export default async function setup(project: TestProject) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-cluster-'));
  const started = Date.now();
  const cluster = await startPostgresCluster(work).catch((err: unknown) => {
    console.error(`cluster tier: the server did not start; its log: ${path.join(work, 'server.log')}`);
    throw err;
  });
  console.error(`cluster tier: Temporal ${cluster.server.address} on PostgreSQL, up in ${Date.now() - started} ms`);
  project.provide('clusterAddress', cluster.server.address);
  project.provide('clusterNamespace', cluster.server.namespace);
  project.provide('clusterWork', work);
  return async () => {
    await cluster.stop();
    fs.rmSync(work, { recursive: true, force: true });
  };
}

// For CLI tests: a simulator and a folder per file, batches a test leaves running terminated (with their images) after
// it, and "nothing started" checked the same way.
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { terminateBatchAndImages } from '../helpers/batch';
import { closeConnections, testClient } from '../helpers/temporal';

/** The list to push the ids of batches a test leaves running to; each is terminated, with its images, after the test. */
export function terminatedAfterEach(): string[] {
  const ids: string[] = [];
  afterEach(async () => {
    const client = await testClient();
    for (const id of ids.splice(0)) await terminateBatchAndImages(client, id);
  });
  return ids;
}

/** No workflow was started for the batch. */
export async function expectNothingStarted(id: string): Promise<void> {
  const err = await (
    await testClient()
  ).workflow
    .getHandle(`batch-${id}`)
    .describe()
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowNotFoundError);
}

/** A provider simulator and a temp folder for a test file (`fx.sim`, `fx.dir`), closed with the connections after it. */
export function simulatorAndFolder(prefix: string): { sim: ProviderSimulator; dir: string } {
  const fx = {} as { sim: ProviderSimulator; dir: string };
  beforeAll(async () => {
    fx.sim = await startSimulator({ latencyMs: 100 });
    fx.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterAll(async () => {
    await fx.sim.close();
    await closeConnections();
  });
  return fx;
}

// Workflow bundles and the quiet SDK runtime. No server and no vitest `inject` here: the unit tier imports it.
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';

// Keep worker logs quiet unless a test fails; warnings still show.
const quiet = new DefaultLogger('WARN');
Runtime.install({ logger: quiet });

const bundles = new Map<string, Promise<{ code: string }>>();

const SRC_WORKFLOWS = path.resolve(__dirname, '../../src/workflows/index.ts');

/** Bundles a workflows module once per test file (webpack takes about a second). */
export function workflowBundle(workflowsPath: string = SRC_WORKFLOWS): Promise<{ code: string }> {
  let b = bundles.get(workflowsPath);
  if (!b) {
    b = bundleWorkflowCode({ workflowsPath, logger: quiet });
    bundles.set(workflowsPath, b);
  }
  return b;
}

// `npm run build` bundles the workflows once into lib/workflow-bundle.js, so a worker loads that file instead of
// running webpack at start (about 1-2 s and a peak of some 150 MB per worker process).
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

export const BUNDLE_FILE = path.join(__dirname, '../workflow-bundle.js');

/** The workflow interceptor modules (the images' metrics), beside the workflows: bundled with them, or loaded so. */
export function workflowInterceptorModules(): string[] {
  const ts = path.join(__dirname, '../workflows/metrics.ts');
  return [fs.existsSync(ts) ? ts : path.join(__dirname, '../workflows/metrics.js')];
}

async function main() {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, '../workflows/index.js'),
    workflowInterceptorModules: workflowInterceptorModules(),
    logger: new DefaultLogger('WARN'),
  });
  fs.writeFileSync(`${BUNDLE_FILE}.tmp`, code);
  fs.renameSync(`${BUNDLE_FILE}.tmp`, BUNDLE_FILE);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

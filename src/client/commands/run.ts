// `imagebatch run` (start, follow, report) and `imagebatch start` (start and return the id).
import path from 'node:path';
import { itemsSourceFor } from '../../output/items-copy';
import { SAFE_NAME } from '../../shared/item-schema';
import type { BatchInput } from '../../shared/batch-types';
import { checkBatchIdReuse } from '../batch-reuse';
import { batchWorkflowId, newBatchId, printStartBanner, startBatch } from '../batch-start';
import { EXIT, UsageError } from '../exit-codes';
import { startAndFollow, withInProcessWorker } from '../in-process';
import { readItemsFile } from '../items';
import { checkBatchFolder } from '../out-folder';
import {
  missingCredentials,
  planProviders,
  type ProviderPlan,
  setupProviders,
  simulatorRunQueue,
  workerCommandFor,
} from '../provider-setup';
import { openSession, type Session } from '../session';
import { hasPollers } from '../worker-answer';
import { resolveSettings, type SettingFlags } from '../settings';

export interface RunFlags extends SettingFlags {
  out?: string;
  provider?: string;
  batchId?: string;
  json?: boolean;
  endpoint?: string;
  db?: string;
  taskQueue?: string;
  /** The batch's submission budget. */
  maxSubmissions?: number;
}

/** Everything that can be wrong with the input is found here, before anything connects or starts. */
function prepare(itemsFile: string, flags: RunFlags) {
  if (!flags.out) throw new UsageError('--out DIR is required');
  const settings = resolveSettings(flags);
  const batchId = flags.batchId ?? newBatchId();
  if (!SAFE_NAME.test(batchId))
    throw new UsageError(`--batch-id '${batchId}': use letters, digits, dot, dash or underscore`);
  const parsed = readItemsFile(itemsFile, flags);
  const batchDir = path.resolve(flags.out, batchId);
  return { settings, batchId, parsed, batchDir, maxSubmissions: flags.maxSubmissions };
}

function batchInput(p: ReturnType<typeof prepare>, provider: BatchInput['provider'], simulated: boolean): BatchInput {
  return {
    batchId: p.batchId,
    items: itemsSourceFor(p.parsed.items, p.batchDir),
    outDir: p.batchDir,
    provider,
    concurrency: p.settings.concurrency,
    policy: p.settings.policy,
    itemsName: path.basename(p.parsed.file),
    maxSubmissions: p.maxSubmissions,
    ...(simulated ? { simulated } : {}),
  };
}

export async function runCommand(itemsFile: string, flags: RunFlags): Promise<number> {
  const p = prepare(itemsFile, flags);
  // Its worker is this process: the batch folder must be writable here (a `start`'s workers may be elsewhere).
  checkBatchFolder(p.batchDir);
  const setup = {
    ...(await setupProviders(flags.provider, 'run', flags.endpoint)),
    accountLimits: p.settings.accountLimits,
  };
  // Its own simulator, so its own queue: two runs at once must not work each other's tasks against the wrong one.
  if (setup.simulator) setup.taskQueue = simulatorRunQueue(setup.taskQueue, setup.simulator.url);
  const session = await openSession({ allowEmbedded: true, db: flags.db }).catch(async (err) => {
    await setup.simulator?.close();
    throw err;
  });
  try {
    await checkBatchIdReuse(session, p.batchId, p.parsed.items);
    return await withInProcessWorker(session, setup, () =>
      startAndFollow(session, batchInput(p, setup.provider, Boolean(setup.simulator)), {
        taskQueue: setup.taskQueue,
        json: Boolean(flags.json),
        banner: [
          ...(setup.note ? [`imagebatch: ${setup.note}`] : []),
          `${p.parsed.items.length} items, concurrency ${p.settings.concurrency}` +
            `${p.maxSubmissions ? `, at most ${p.maxSubmissions} submissions` : ''}, output ${p.batchDir}`,
        ],
      }),
    );
  } finally {
    await session.close();
    await setup.simulator?.close();
  }
}

export async function startCommand(itemsFile: string, flags: RunFlags): Promise<number> {
  const p = prepare(itemsFile, flags);
  const plan = planProviders(flags.provider, 'start');
  if (flags.taskQueue) plan.taskQueue = flags.taskQueue;
  const session = await openSession({ allowEmbedded: false });
  try {
    await checkBatchIdReuse(session, p.batchId, p.parsed.items);
    await startBatch(session, batchInput(p, plan.provider, plan.simulated), plan.taskQueue);
    printStartBanner(session, p.batchId, [`${p.parsed.items.length} items`]);
    for (const line of await whoRunsIt(session, plan)) process.stderr.write(`imagebatch: ${line}\n`);
    if (flags.json)
      process.stdout.write(
        JSON.stringify({ batchId: p.batchId, workflowId: batchWorkflowId(p.batchId), taskQueue: plan.taskQueue }) +
          '\n',
      );
    else console.log(p.batchId);
    return EXIT.ok;
  } finally {
    await session.close();
  }
}

/** Which worker runs a started batch: one with the credentials (they need not be here), and whether one polls yet. */
async function whoRunsIt(session: Session, plan: ProviderPlan): Promise<string[]> {
  const command = `\`${workerCommandFor(plan.taskQueue, plan.simulated)}\``;
  const lines = [
    plan.credentialsElsewhere
      ? `${missingCredentials(plan.provider)} not set here: a worker that has them runs this ${plan.provider} ` +
        `batch (${command})`
      : `a worker runs it: ${command}`,
  ];
  if (!(await hasPollers(session, plan.taskQueue)))
    lines.push(`no worker polls task queue '${plan.taskQueue}' yet: the batch waits until one does`);
  return lines;
}

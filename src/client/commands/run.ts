// `imagebatch run` (start, follow, report) and `imagebatch start` (start and return the id).
import path from 'node:path';
import { storeItemsSource } from '../../output/items-copy';
import { isBucketLocation } from '../../storage/batch-store';
import { credentialNames, providersFromEnv } from '../../providers';
import { accountTaskQueue, namedAccount } from '../../shared/account-queues';
import type { AccountRef } from '../../shared/accounts';
import { providerTaskQueue } from '../../shared/providers';
import type { ProviderKind } from '../../shared/types';
import type { BatchInput, WebhookEvent } from '../../shared/batch-types';
import { checkBatchIdReuse } from '../batch-reuse';
import { batchWorkflowId, checkBatchId, newBatchId, printStartBanner, startBatch } from '../batch-start';
import { EXIT, UsageError } from '../exit-codes';
import { startAndFollow, withInProcessWorker } from '../in-process';
import { readItemsFile } from '../../items/reader';
import { batchLocationOf, checkOutput, pullCommand } from '../out-folder';
import { heldAccounts, missingCredentials, planProviders, type ProviderPlan, providersNeeded } from '../provider-plan';
import { simulatorRunQueue, workerCommandFor } from '../provider-queues';
import { setupProviders, withEndpoint } from '../provider-setup';
import { openSession, type Session } from '../session';
import { hasPollers } from '../worker-answer';
import { resolveSettings, type SettingFlags } from '../settings';
import { type BatchApiFlags, resolveBatchApi } from '../batch-api-settings';

export interface RunFlags extends SettingFlags, BatchApiFlags {
  out?: string;
  provider?: string;
  batchId?: string;
  json?: boolean;
  endpoint?: string;
  db?: string;
  taskQueue?: string;
  /** The batch's submission budget. */
  maxSubmissions?: number;
  /** With a provider list: move on to the next provider after a moderation refusal too. */
  fallbackOnModeration?: boolean;
  /** Completion hooks, run by a worker at the batch's end. */
  onComplete?: string;
  webhook?: string;
  webhookEvents?: WebhookEvent[];
  /** A filename template (`{id}-{seed}.png`), and which entries of a manifest to run again. */
  filename?: string;
  only?: string;
}

/**
 * Everything that can be wrong with the input is found here, before anything connects or starts. `served`: `run`'s
 * worker is this process, so an item naming a provider it cannot serve is refused with the items' problems.
 */
function prepare(itemsFile: string, flags: RunFlags, plan: ProviderPlan, served?: readonly ProviderKind[]) {
  if (!flags.out) throw new UsageError('--out DIR (or s3://BUCKET/PREFIX) is required');
  const settings = resolveSettings(flags);
  const batchId = flags.batchId ?? newBatchId();
  checkBatchId(batchId);
  // The batch id is known here: a filename template may name it ({batch}).
  const parsed = readItemsFile(itemsFile, { ...flags, batchId, batch: plan.batch, served });
  const batchDir = batchLocationOf(flags.out, batchId);
  if (flags.webhookEvents && !flags.webhook) throw new UsageError('--webhook-events needs --webhook URL');
  const hooks = { onComplete: flags.onComplete, webhook: flags.webhook, webhookEvents: flags.webhookEvents };
  const fallbackOnModeration = Boolean(flags.fallbackOnModeration);
  const batchApi = resolveBatchApi(flags, plan.batch, parsed.items, settings);
  const maxSubmissions = flags.maxSubmissions;
  return { settings, batchId, parsed, batchDir, maxSubmissions, hooks, fallbackOnModeration, batchApi };
}

/** Writes the items copy of a large batch (into its folder or bucket), so only once the output has been checked. */
async function batchInput(p: ReturnType<typeof prepare>, plan: ProviderPlan): Promise<BatchInput> {
  return {
    batchId: p.batchId,
    items: await storeItemsSource(p.parsed.items, p.batchDir),
    outDir: p.batchDir,
    ...plan.batch,
    // The flag only when set: older workers do not read it.
    ...(p.fallbackOnModeration ? { fallbackOnModeration: true } : {}),
    concurrency: p.batchApi?.concurrency ?? p.settings.concurrency,
    ...(p.batchApi ? { batchApi: p.batchApi.batchApi } : {}),
    policy: p.settings.policy,
    itemsName: path.basename(p.parsed.file),
    maxSubmissions: p.maxSubmissions,
    // Only when asked for: a batch without hooks schedules no hook activities.
    ...(p.hooks.onComplete ? { onComplete: p.hooks.onComplete } : {}),
    ...(p.hooks.webhook ? { webhook: p.hooks.webhook } : {}),
    ...(p.hooks.webhookEvents ? { webhookEvents: p.hooks.webhookEvents } : {}),
    ...(plan.simulated ? { simulated: true } : {}),
  };
}

export async function runCommand(itemsFile: string, flags: RunFlags): Promise<number> {
  const plan = planProviders(flags.provider, 'run');
  const p = prepare(itemsFile, flags, plan, plan.serves);
  // Its worker is this process: the batch folder (or bucket) must be writable here.
  await checkOutput(p.batchDir);
  const setup = { ...(await setupProviders(plan, flags.endpoint)), accountLimits: p.settings.accountLimits };
  // Its own simulator, so its own queue: two runs at once must not work each other's tasks against the wrong one.
  if (setup.simulator) setup.taskQueue = simulatorRunQueue(setup.taskQueue, setup.simulator.url);
  const session = await openSession({ allowEmbedded: true, db: flags.db }).catch(async (err) => {
    await setup.simulator?.close();
    throw err;
  });
  try {
    await checkBatchIdReuse(session, p.batchId, p.parsed.items);
    // Its worker's accounts are the batch's: another worker on the queue (other keys, another endpoint) never runs it.
    const accounts = heldAccounts(setup.providers, providersNeeded(plan.batch, p.parsed.items), setup.taskQueue);
    return await withInProcessWorker(session, setup, async () =>
      startAndFollow(
        session,
        { ...(await batchInput(p, plan)), ...(accounts.length ? { accounts } : {}) },
        {
          taskQueue: setup.taskQueue,
          json: Boolean(flags.json),
          banner: [
            ...(setup.note ? [`imagebatch: ${setup.note}`] : []),
            `${p.parsed.items.length} items, concurrency ${p.settings.concurrency}` +
              `${p.maxSubmissions ? `, at most ${p.maxSubmissions} submissions` : ''}, output ${p.batchDir}`,
          ],
        },
      ),
    );
  } finally {
    await session.close();
    await setup.simulator?.close();
  }
}

export async function startCommand(itemsFile: string, flags: RunFlags): Promise<number> {
  const plan = planProviders(flags.provider, 'start', process.env, flags.taskQueue);
  const p = prepare(itemsFile, flags, plan);
  // A `start`'s workers may be elsewhere, so a folder is theirs to check; a bucket is everyone's, checked here.
  if (isBucketLocation(p.batchDir)) await checkOutput(p.batchDir);
  const session = await openSession({ allowEmbedded: false });
  try {
    await checkBatchIdReuse(session, p.batchId, p.parsed.items);
    const needed = providersNeeded(plan.batch, p.parsed.items);
    // The keys set here (and --endpoint) name the accounts the batch runs on: only workers of those accounts serve it.
    // (Not a simulated batch: its workers' endpoint is the simulator's, whatever keys are set here.)
    const here = plan.simulated ? {} : providersFromEnv(withEndpoint(plan, flags.endpoint, process.env), needed);
    const accounts = heldAccounts(here, needed, plan.taskQueue);
    const input = { ...(await batchInput(p, plan)), ...(accounts.length ? { accounts } : {}) };
    await startBatch(session, input, plan.taskQueue);
    const pull = pullCommand(p.batchDir);
    printStartBanner(session, p.batchId, [
      `${p.parsed.items.length} items`,
      ...(pull ? [`files in ${p.batchDir}/ (\`${pull}\` copies them here)`] : []),
    ]);
    for (const line of await whoRunsIt(session, plan, needed, accounts)) process.stderr.write(`imagebatch: ${line}\n`);
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

/**
 * Which workers run a started batch: ones with the credentials (they need not be here), and whether one polls yet,
 * the batch's queue (its workflows) and each provider's queue (its activities, served only where its keys are).
 */
async function whoRunsIt(
  session: Session,
  plan: ProviderPlan,
  needed: ProviderKind[],
  accounts: AccountRef[],
): Promise<string[]> {
  const command = `\`${workerCommandFor(plan.taskQueue, plan.simulated)}\``;
  const elsewhere = plan.credentialsElsewhere ?? [];
  const lines = elsewhere.length
    ? elsewhere.map(
        (k) => `${missingCredentials(k)} not set here: a worker that has them runs this ${k} batch (${command})`,
      )
    : [`a worker runs it: ${command}`];
  if (!(await hasPollers(session, plan.taskQueue)))
    lines.push(`no worker polls task queue '${plan.taskQueue}' yet: the batch waits until one does`);
  for (const kind of needed) {
    // A named account's images wait for a worker of that account (its own queue).
    const account = namedAccount(accounts, kind);
    const queue = account ? accountTaskQueue(plan.taskQueue, account) : providerTaskQueue(plan.taskQueue, kind);
    const who = account ? `of ${account.label}, these keys and endpoint` : `with ${credentialNames(kind)}`;
    if (!(await hasPollers(session, queue, 'activity')))
      lines.push(`no worker serves ${kind} yet (task queue '${queue}'): its images wait for a worker ${who}`);
  }
  return lines;
}

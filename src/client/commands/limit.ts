// `imagebatch limit`: provider accounts and their limits of tasks in flight. Without arguments it lists every running
// account; `limit PROVIDER` shows, and `limit PROVIDER N` (or `none`, `--clear`) sets, the limit of the account that
// this machine's credentials, endpoint and task queue name.
import { WorkflowNotFoundError } from '@temporalio/client';
import { startAccount } from '../../activities/accounts';
import { accountOf } from '../../providers/account';
import { hasCredentials } from '../../providers';
import { type AccountRef, type AccountState, accountStateQuery, setLimitUpdate } from '../../shared/accounts';
import { PROVIDER_KINDS } from '../../shared/types';
import { type AccountEntry, accountEntry, listAccounts } from '../account-lookup';
import { sendUpdate } from '../control-request';
import { EXIT, UsageError } from '../exit-codes';
import { missingCredentials, planProviders } from '../provider-plan';
import { workerCommandFor } from '../provider-queues';
import { setupProviders } from '../provider-setup';
import { type Session, withSession } from '../session';
import { argSetting } from '../settings';
import { type Answerer, answerTimeoutMs, askWorker, hasPollers, requireWorker } from '../worker-answer';

export interface LimitFlags {
  endpoint?: string;
  taskQueue?: string;
  clear?: boolean;
  json?: boolean;
  db?: string;
}

/** A listing should not wait long for each account that does not answer. */
const LIST_ANSWER_MS = 5000;

export async function limitCommand(provider: string | undefined, n: string | undefined, flags: LimitFlags) {
  if (!provider) {
    if (n !== undefined || flags.clear) throw new UsageError('name the provider whose limit to set: limit PROVIDER N');
    return withSession((session) => listCommand(session, Boolean(flags.json)), flags.db);
  }
  if (flags.clear && n !== undefined) throw new UsageError(`give N or --clear, not both`);
  const wanted = flags.clear || n === 'none' ? null : n === undefined ? undefined : argSetting('maxInFlight', n, 'N');
  const here = await accountHere(provider, flags);
  return withSession(async (session) => {
    const running = await accountRunning(session, here.account);
    if (wanted === undefined) return show(session, here, running, Boolean(flags.json));
    return setLimit(session, here, running, wanted, Boolean(flags.json));
  }, flags.db);
}

interface Here extends Answerer {
  account: AccountRef;
}

/** The account this machine's credentials and endpoint name, on the task queue its workers would poll. */
async function accountHere(provider: string, flags: LimitFlags): Promise<Here> {
  if (provider === 'simulator')
    throw new UsageError(
      'the built-in simulator is not an account you can set (each `run` with it starts a new one); point ' +
        '--endpoint and the credentials at an `imagebatch simulator` to set the limit of that one',
    );
  const kind = PROVIDER_KINDS.find((k) => k === provider);
  if (!kind) throw new UsageError(`PROVIDER: '${provider}' is not one of ${PROVIDER_KINDS.join(', ')}`);
  if (!hasCredentials(kind))
    throw new UsageError(`${missingCredentials(kind)} not set: the credentials name the account whose limit this sets`);
  const setup = await setupProviders(planProviders(kind, 'worker', process.env, flags.taskQueue), flags.endpoint);
  const taskQueue = setup.taskQueue;
  const account = accountOf(kind, setup.providers, taskQueue);
  return { account, taskQueue, name: `account ${account.label}` };
}

async function accountRunning(session: Session, account: AccountRef): Promise<boolean> {
  try {
    return (await session.client.workflow.getHandle(account.workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** "set 2", "learned 3", "learned 3 (set 5)", "none". */
export function limitWords(s: AccountState): string {
  if (s.limit === undefined) return 'none';
  if (s.setLimit === s.limit) return `set ${s.limit}`;
  return `learned ${s.limit}${s.setLimit !== undefined ? ` (set ${s.setLimit})` : ''}`;
}

function waitingWords(s: AccountState): string {
  const byBatch = Object.entries(s.waitingByBatch).map(([batch, k]) => `${batch} ${k}`);
  return `${s.waiting} waiting${byBatch.length ? ` (${byBatch.join(', ')})` : ''}`;
}

function entryLine(e: AccountEntry): string {
  const where = `${e.account.label}, task queue '${e.taskQueue}'`;
  const s = e.state;
  if (!s) return `${where}: ${e.unknown}; state unknown (\`${workerCommandFor(e.taskQueue)}\` serves it)`;
  return `${where}: limit ${limitWords(s)}, ${s.inFlight} in flight, ${waitingWords(s)}, ${s.throttles} throttles seen`;
}

/** An account's state as `--json` prints it: no limit is null rather than absent. */
const stateJson = (s?: AccountState) =>
  s && { ...s, setLimit: s.setLimit ?? null, learnedLimit: s.learnedLimit ?? null, limit: s.limit ?? null };

/** What `--json` prints of an account: its state (or why it is unknown) and its task queue. */
const entryJson = (e: AccountEntry) => ({
  account: e.account,
  taskQueue: e.taskQueue,
  ...stateJson(e.state),
  unknown: e.unknown,
});

async function listCommand(session: Session, json: boolean): Promise<number> {
  const entries = await listAccounts(session, Math.min(answerTimeoutMs(), LIST_ANSWER_MS));
  if (json) process.stdout.write(JSON.stringify(entries.map(entryJson), null, 2) + '\n');
  else if (!entries.length)
    console.log('No provider accounts are open (a batch opens its account at its first image).');
  else for (const e of entries) console.log(entryLine(e));
  return EXIT.ok;
}

async function show(session: Session, here: Here, running: boolean, json: boolean): Promise<number> {
  const e: AccountEntry = running
    ? await accountEntry(session, here.account.workflowId, here.taskQueue, answerTimeoutMs())
    : { ...here, unknown: 'not open yet (a batch opens it at its first image)' };
  if (json) process.stdout.write(JSON.stringify(entryJson(e), null, 2) + '\n');
  else console.log(entryLine(e));
  return EXIT.ok;
}

async function setLimit(session: Session, here: Here, running: boolean, n: number | null, json: boolean) {
  const { account, taskQueue } = here;
  const handle = session.client.workflow.getHandle(account.workflowId);
  const print = (line: string, doc: object) =>
    json ? process.stdout.write(JSON.stringify({ account, taskQueue, ...doc }, null, 2) + '\n') : console.log(line);
  if (!running) {
    if (n === null) {
      print(`${account.label}: no limit to clear (the account is not open yet)`, { limit: null, started: false });
      return EXIT.ok;
    }
    // As a worker's openAccount would, with this limit; a running one (opened since the look-up) is kept.
    await startAccount(session.client.workflow, taskQueue, { account, setLimit: n });
    if (!(await hasPollers(session, taskQueue))) {
      const line = `${account.label}: limit ${n}; started the account on task queue '${taskQueue}' (no worker polls it yet)`;
      print(line, { setLimit: n, started: true });
      return EXIT.ok;
    }
    // A worker may have opened it between the look-up and the start, with its own limit: then set it below.
    const state = await askWorker(session, here, () => handle.query(accountStateQuery));
    if (state.setLimit === n) {
      print(
        `${account.label}: limit ${n}; started the account, ${state.inFlight} in flight, ${state.waiting} waiting`,
        { ...stateJson(state), started: true },
      );
      return EXIT.ok;
    }
  }
  await requireWorker(session, here, 'so the limit was not changed');
  const before = await askWorker(session, here, () => handle.query(accountStateQuery));
  const after = await sendUpdate(session, here, () => handle.executeUpdate(setLimitUpdate, { args: [n] }), {
    afterwards: '; the limit may still change when a worker picks the account up',
  });
  const line =
    `${account.label}: limit ${after.limit ?? 'none'} (was ${limitWords(before)}), ` +
    `${after.inFlight} in flight, ${after.waiting} waiting`;
  print(line, { ...stateJson(after), previous: stateJson(before), started: false });
  return EXIT.ok;
}

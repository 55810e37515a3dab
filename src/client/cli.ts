// The `imagebatch` command line.
import { Command, InvalidArgumentError, Option } from 'commander';
import { Runtime } from '@temporalio/worker';
import { WorkerLogger } from './worker-logger';
import { TemporalCliNotFound } from '../temporal/find-cli';
import { TemporalUnreachable } from '../temporal/connection';
import { MAX_ACCOUNT_LIMIT } from '../shared/accounts';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../shared/batch-types';
import { MAX_CONCURRENCY } from '../shared/constants';
import { action } from './action';
import { cancelCommand, concurrencyCommand, pauseCommand } from './commands/control';
import { devServerCommand } from './commands/dev-server';
import { eventsCommand } from './commands/events';
import { importTasksCommand } from './commands/import-tasks';
import { inspectCommand } from './commands/inspect';
import { limitCommand } from './commands/limit';
import { pullCommand } from './commands/pull';
import { resumeCommand } from './commands/resume';
import { retryCommand } from './commands/retry';
import { runCommand, startCommand } from './commands/run';
import { addSimulatorCommand } from './commands/simulator';
import { galleryReportCommand } from './commands/report';
import { listCommand, statusCommand, watchCommand } from './commands/status';
import { workerCommand } from './commands/worker';
import { EXIT, NoWorker, StorageUnreachable, UsageError } from './exit-codes';
import { ItemsFileError } from '../items/reader';
import { applyCommandEnv, BOUNDS, ENV_NAME, flagArg, metricsAddress } from './settings';
import { prometheusExporter } from '../metrics/prometheus';
import { VOLCENGINE_DEFAULT_MODEL } from '../providers/volcengine/client';

export function intArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got '${value}'`);
    }
    return n;
  };
}

/** An http(s) URL with a host: anything else (file://, a bare word) is refused before anything starts. */
export function urlArg(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || !url.hostname)
    throw new InvalidArgumentError(`expected an http:// or https:// URL, got '${value}'`);
  return value;
}

/** `image,batch`, `image` or `batch`: what the webhook is POSTed for. */
function webhookEventsArg(value: string): WebhookEvent[] {
  const names = value.split(',').map((n) => n.trim());
  const unknown = names.filter((n) => !(WEBHOOK_EVENTS as readonly string[]).includes(n));
  if (unknown.length)
    throw new InvalidArgumentError(`expected image, batch or both (image,batch), got '${unknown.join(',')}'`);
  return WEBHOOK_EVENTS.filter((e) => names.includes(e));
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const collectEnvName = (value: string, previous: string[] = []) => {
  if (!ENV_NAME.test(value)) throw new InvalidArgumentError(`expected an environment variable's name, got '${value}'`);
  return [...previous, value];
};
/** On the commands whose process runs a worker: what of its environment a completion command may see. */
const commandEnvOption = () =>
  new Option(
    '--on-complete-env <name>',
    "a variable of this worker's environment the --on-complete command may see besides PATH, HOME, LANG, LC_*, TZ " +
      'and TMPDIR (repeatable; default IMAGEBATCH_ON_COMPLETE_ENV, a comma list, or image_generation.on_complete_env)',
  ).argParser(collectEnvName);
const dbOption = () =>
  new Option('--db <file>', 'SQLite file of the embedded dev server (default ~/.cache/imagebatch/dev-server.db)');
const configOption = () =>
  new Option('--config <file>', 'config.json with an image_generation block (default ./config.json if present)');

function batchOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--out <dir>', 'output folder or s3://BUCKET/PREFIX; images go to <dir>/<batch-id>/')
    .option(
      '--provider <name>',
      'simulator, volcengine, dashscope, fal, openai or comfyui, or a comma list in fallback order such as ' +
        'fal,dashscope (default: the first whose credentials are set; `run` with none set: the simulator)',
    )
    .option(
      '--fallback-on-moderation',
      'with a --provider list: move an item to the next provider also when moderation refused its prompt',
    )
    .option(
      '--endpoint <url>',
      "the endpoint of --provider's first provider (overrides VOLCENGINE_VISUAL_ENDPOINT, FAL_QUEUE_URL, ...)",
      urlArg,
    )
    .option('--concurrency <n>', `images in flight at once (1-${MAX_CONCURRENCY}; default 3)`, flagArg('concurrency'))
    .option('--max-concurrent <n>', "the old tools' name for --concurrency", flagArg('concurrency'))
    .option('--poll-interval <s>', 'seconds between status polls (default 5)', flagArg('pollInterval'))
    .option(
      '--max-wait <s>',
      'seconds to wait for one provider task before resubmitting (default 180)',
      flagArg('maxWait'),
    )
    .option(
      '--retries <n>',
      'resubmissions of an item after a lost, failed or overdue task (default 3)',
      flagArg('retries'),
    )
    .option(
      '--max-submissions <n>',
      `provider submissions the batch may make at most, resubmissions included (1-${BOUNDS.maxSubmissions.max}); ` +
        'then it stops, open: `imagebatch resume BATCH --max-submissions M` continues it',
      flagArg('maxSubmissions'),
    )
    .option(
      '--batch-api',
      "with --provider openai: send the items through OpenAI's Batch API, at half the price, within 24 hours",
    )
    .option(
      '--batch-retry <how>',
      'with --batch-api: a prompt moderation refused goes again simplified in the next-job (default) or individual(ly), at full price',
    )
    .option('--batch-id <id>', 'batch id (default: a timestamp); the workflow id is batch-<id>')
    .option('--refs-dir <dir>', "a folder reference images may come from besides the items file's folder")
    .option(
      '--filename <template>',
      'output names of the items that name none, e.g. {id}-{seed}.png: {batch} {id} {k} {seed} {provider} {model} {index}, padded as {index:04}',
    )
    .option(
      '--only <which>',
      'with a manifest.json as ITEMS: run again only its failed, cancelled, succeeded or simplified entries (comma list)',
    )
    .option(
      '--on-complete <cmd>',
      'a shell command a worker runs once the batch ends (normally or cancelled), with its summary JSON on stdin',
    )
    .option(
      '--webhook <url>',
      "an http(s) URL the batch's summary is POSTed to when it ends (signed with IMAGEBATCH_WEBHOOK_SECRET, if set)",
      urlArg,
    )
    .option(
      '--webhook-events <events>',
      'what --webhook is POSTed for: batch (its summary at its end, the default), image (each image as it ends, the same JSON as an `imagebatch events` line), or image,batch',
      webhookEventsArg,
    )
    .addOption(configOption())
    .option('--json', 'print one JSON document on stdout and nothing else there')
    .addOption(dbOption());
}

export function buildProgram(): Command {
  const program = new Command('imagebatch')
    .description('Durable batch image generation on Temporal')
    .showHelpAfterError()
    // A worker of this process reads the completion command's allow-list from this process's environment.
    .hook('preAction', (_program, command) => {
      if (['run', 'worker', 'resume', 'retry'].includes(command.name())) applyCommandEnv(command.opts());
    })
    .exitOverride((err) => {
      // commander's own usage errors (unknown option, bad argument) exit 2, as every bad input does.
      process.exit(err.exitCode === 0 ? 0 : EXIT.badInput);
    });

  batchOptions(
    program
      .command('run')
      .argument('<items>', "items file: .jsonl, .json array or .txt (one prompt a line), or a batch's manifest.json"),
  )
    .description('run a batch: start it, work it in this process, show progress, print a summary')
    .addOption(commandEnvOption())
    .action(action(runCommand));

  batchOptions(program.command('start').argument('<items>', 'items file: .jsonl, .json array or .txt'))
    .description('start a batch and print its id; workers (`imagebatch worker`) do the work')
    .option(
      '--task-queue <name>',
      'task queue the workers poll (default imagebatch, or imagebatch-simulator with --provider simulator)',
    )
    .action(action(startCommand));

  program
    .command('import-tasks')
    .argument('<dir>', "the old Volcengine tool's task folder (async_tasks), from the folder it ran in")
    .description(
      'collect the tasks the old tool submitted (never submitting them again) as one batch worked here; each task ' +
        "file's status becomes completed or failed",
    )
    .option('--provider <name>', 'the provider the tasks were submitted to (volcengine, the default and only one)')
    .option('--model <req_key>', `the request key the old tool used (default ${VOLCENGINE_DEFAULT_MODEL})`)
    .option('--resubmit', 'generate again, from full_prompt and character_images, a task the provider no longer knows')
    .option('--out <dir>', "the batch's own files (manifest, gallery) go to <dir>/<batch-id>/", 'out')
    .option('--batch-id <id>', 'batch id (default: import- and a hash of the folder and its pending tasks)')
    .option('--endpoint <url>', 'the Volcengine endpoint (overrides VOLCENGINE_VISUAL_ENDPOINT)', urlArg)
    .option('--concurrency <n>', `tasks in flight at once (1-${MAX_CONCURRENCY}; default 3)`, flagArg('concurrency'))
    .option('--poll-interval <s>', 'seconds between status polls (default 5)', flagArg('pollInterval'))
    .option('--max-wait <s>', 'seconds to wait for one task (default 180)', flagArg('maxWait'))
    .option('--retries <n>', 'with --resubmit: resubmissions of a task after a lost or failed one', flagArg('retries'))
    .option('--refs-dir <dir>', 'a folder character images may come from besides the one that holds DIR')
    .addOption(configOption())
    .option('--json', 'print one JSON document on stdout and nothing else there')
    .addOption(dbOption())
    .action(action(importTasksCommand));

  program
    .command('worker')
    .description('run a worker for imagebatch workflows (as many as you like, on as many machines)')
    .option(
      '--provider <name>',
      'serve only these providers (comma list; default every provider whose credentials are set), or simulator: ' +
        'every provider against a built-in simulator',
    )
    .option('--endpoint <url>', 'endpoint override of the one provider served (with --provider)', urlArg)
    .option(
      '--task-queue <name>',
      'task queue to poll (default imagebatch, or imagebatch-simulator with --provider simulator)',
    )
    .option('--max-activities <n>', 'concurrent activity executions (default 100)', intArg(1, 10000))
    .option('--max-workflow-tasks <n>', 'concurrent workflow task executions', intArg(1, 10000))
    .option(
      '--metrics <ip:port>',
      "serve Prometheus metrics (the SDK's and imagebatch's) at http://IP:PORT/metrics (default IMAGEBATCH_METRICS)",
    )
    .addOption(commandEnvOption())
    .addOption(configOption())
    .addOption(dbOption())
    .action(action(workerCommand));

  program
    .command('status')
    .argument('<batch>', 'batch id')
    .description('show a batch: progress while it runs, counts and manifest when it has finished')
    .option('--json', 'print JSON')
    .addOption(dbOption())
    .action(action(statusCommand));

  program
    .command('watch')
    .argument('<batch>', 'batch id')
    .description('follow a batch until it ends')
    .option('--json', 'print JSON at the end')
    .addOption(dbOption())
    .action(action(watchCommand));

  program
    .command('events')
    .argument('<batch>', 'batch id')
    .description('print one JSON line per image as it ends (from the start), then one for the batch when it ends')
    .addOption(dbOption())
    .action(action(eventsCommand));

  program
    .command('list')
    .description('list batches')
    .option('--running', 'only running ones')
    .option('--json', 'print JSON')
    .addOption(dbOption())
    .action(action(listCommand));

  program
    .command('cancel')
    .argument('<batch>', 'batch id')
    .description('cancel a batch, or some of its items')
    .option('--item <id>', 'an item to cancel (repeatable)', collect)
    .addOption(dbOption())
    .action(action((batch: string, o: { item?: string[]; db?: string }) => cancelCommand(batch, o, o.item ?? [])));

  program
    .command('retry')
    .argument('<batch>', 'batch id')
    .description('retry failed items: re-queued while the batch runs, else as a new batch into the same folder')
    .option('--item <id>', 'an item to retry (repeatable; default all failed)', collect)
    .option('--provider <name>', "simulator, or a provider (comma list: fallback order); default the batch's")
    .option('--endpoint <url>', 'provider endpoint override', urlArg)
    .option('--json', 'print one JSON document on stdout')
    .addOption(configOption())
    .addOption(dbOption())
    .action(action(retryCommand));

  program
    .command('pause')
    .argument('<batch>', 'batch id')
    .description('start no new images; running ones finish')
    .addOption(dbOption())
    .action(action((b: string, o: { db?: string }) => pauseCommand(b, o)));
  program
    .command('resume')
    .argument('<batch>', 'batch id')
    .description(
      'resume a paused batch, or one stopped by its budget with a larger one; with no worker serving it, work it here',
    )
    .option(
      '--max-submissions <n>',
      'the new submission budget (above what was made or promised)',
      flagArg('maxSubmissions'),
    )
    .option(
      '--provider <name>',
      "simulator, or a provider or comma list (when it works the batch here; default the batch's)",
    )
    .option('--endpoint <url>', 'provider endpoint override (when it works the batch here)', urlArg)
    .option('--json', 'print one JSON document on stdout (when it works the batch here)')
    .addOption(configOption())
    .addOption(dbOption())
    .action(action(resumeCommand));
  program
    .command('concurrency')
    .argument('<batch>', 'batch id')
    .argument('<n>', `images in flight (1-${MAX_CONCURRENCY})`, flagArg('concurrency'))
    .description('change how many images a running batch keeps in flight')
    .addOption(dbOption())
    .action(action((b: string, n: number, o: { db?: string }) => concurrencyCommand(b, o, n)));

  program
    .command('limit')
    .argument(
      '[provider]',
      'volcengine, dashscope, fal, openai or comfyui: the account these credentials and endpoint name',
    )
    .argument('[n]', `its limit of tasks in flight (1-${MAX_ACCOUNT_LIMIT}), or none`)
    .description('list provider accounts and their limits, or set the limit of one (every batch, every worker)')
    .option('--clear', 'clear the set limit (the account learns one from throttle answers)')
    .option('--endpoint <url>', 'provider endpoint override', urlArg)
    .option('--task-queue <name>', 'the task queue of the workers that serve the account (default as `worker`)')
    .option('--json', 'print JSON')
    .addOption(dbOption())
    .action(action(limitCommand));

  program
    .command('inspect')
    .argument('<file>', 'an image imagebatch stored (or any PNG with a parameters chunk)')
    .description("print how an image was made: its PNG chunks, or a JPEG's or WebP's sidecar <file>.json")
    .option('--json', 'print JSON')
    .action(action(inspectCommand));

  program
    .command('report')
    .argument('<batch>', 'batch id')
    .description("write the batch's gallery (index.html in its folder) again from its manifest and print its path")
    .option('--out <dir>', 'the --out the batch ran with, a folder or s3:// (default: ask Temporal where it is)')
    .option('--open', 'open the page in the default browser')
    .addOption(dbOption())
    .action(action(galleryReportCommand));

  program
    .command('pull')
    .argument('<batch>', 'batch id')
    .description('copy the files of a batch kept in a bucket into <dir>/<batch>/ (skips files already there)')
    .option('--out <dir>', 'the local folder the batch folder goes under', 'out')
    .option('--from <url>', 'the s3:// --out the batch ran with (default: ask Temporal where its files are)')
    .addOption(dbOption())
    .action(action(pullCommand));

  addSimulatorCommand(program);

  program
    .command('dev-server')
    .description('start a local Temporal dev server with imagebatch search attributes registered')
    .option('--port <port>', 'gRPC port', intArg(1, 65535), 7233)
    .option('--ui-port <port>', 'Web UI port', intArg(1, 65535), 8233)
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--db <file>', 'SQLite file to keep state across restarts (in-memory when absent)')
    .action(action(devServerCommand));

  return program;
}

/** Worker logs: INFO for a long-running worker, only errors while `run` draws progress. IMAGEBATCH_LOG_LEVEL overrides. */
function installLogger(argv: string[], metrics?: string) {
  const level = (process.env.IMAGEBATCH_LOG_LEVEL ?? (argv[2] === 'worker' ? 'INFO' : 'ERROR')).toUpperCase();
  const valid = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
  const lvl = (valid.includes(level) ? level : 'WARN') as 'INFO';
  Runtime.install({
    logger: new WorkerLogger(lvl),
    // The SDK core's own messages (e.g. reconnect retries while a server restarts) follow the same level.
    telemetryOptions: {
      logging: { filter: { core: lvl, other: lvl }, forward: {} },
      ...(metrics ? { metrics: prometheusExporter(metrics) } : {}),
    },
    // `worker` stops gracefully on SIGINT/SIGTERM (the SDK's default); `run` handles Ctrl-C itself (cancel or detach).
    ...(argv[2] === 'worker' ? {} : { shutdownSignals: [] }),
  });
}

function installRuntime(argv: string[], command: Command) {
  const metrics = command.name() === 'worker' ? metricsAddress(command.opts()) : undefined;
  try {
    installLogger(argv, metrics);
  } catch (err) {
    // The exporter could not bind (the port is taken, the address is not this machine's).
    throw new UsageError(`metrics at ${metrics}: ${(err as Error).message}`);
  }
}

export async function main(argv = process.argv): Promise<void> {
  try {
    const program = buildProgram();
    // The SDK runtime is made once, before the command connects, once its flags are known (`worker --metrics`).
    program.hook('preAction', (_program, command) => installRuntime(argv, command));
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof ItemsFileError) {
      for (const p of err.problems) console.error(p);
      console.error(`imagebatch: ${err.problems.length} problem(s) in the items file; nothing was started.`);
      process.exitCode = EXIT.badInput;
    } else if (err instanceof UsageError) {
      console.error(`imagebatch: ${err.message}`);
      process.exitCode = EXIT.badInput;
    } else if (err instanceof NoWorker) {
      console.error(`imagebatch: ${err.message}`);
      process.exitCode = EXIT.noWorker;
    } else if (
      err instanceof TemporalUnreachable ||
      err instanceof TemporalCliNotFound ||
      err instanceof StorageUnreachable
    ) {
      console.error(`imagebatch: ${err.message}`);
      process.exitCode = EXIT.temporalUnreachable;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  }
}

if (require.main === module || /imagebatch(\.js)?$/.test(process.argv[1] ?? '')) {
  // Exit once the command is done: the SDK runtime installed above (core log forwarding) keeps the event loop
  // alive until a worker or native connection closes, and commands such as `status` or a rejected items file
  // never make one. Every long-running command (worker, run, simulator, dev-server) awaits its own end.
  void main().then(() => process.exit());
}

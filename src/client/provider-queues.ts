// The task queues of a provider plan: real and simulated batches on queues of their own, and the `imagebatch worker`
// command line that polls a given queue.
import { TASK_QUEUE } from '../shared/constants';

/**
 * Simulated runs use their own task queue, so a real worker never picks up a simulated batch or the reverse.
 * IMAGEBATCH_TASK_QUEUE names another queue (to keep deployments, or tests, apart).
 */
export function batchTaskQueue(simulated: boolean, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.IMAGEBATCH_TASK_QUEUE || TASK_QUEUE;
  return simulated ? `${base}-simulator` : base;
}

/** The queue of a `run` with the built-in simulator: the simulator queue, named after that run's simulator port. */
export function simulatorRunQueue(simulatorQueue: string, simulatorUrl: string): string {
  return `${simulatorQueue}-${new URL(simulatorUrl).port}`;
}

/** Whether a batch's queue is a simulated one (the simulator queue, or a `run`'s own). */
export function isSimulatorQueue(taskQueue: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const queue = batchTaskQueue(true, env);
  const port = taskQueue.startsWith(`${queue}-`) ? taskQueue.slice(queue.length + 1) : '';
  return taskQueue === queue || /^\d+$/.test(port);
}

/**
 * The `imagebatch worker` command line that polls `taskQueue`, given this environment's queue names. `simulated`
 * when known (else guessed from the queue's name) adds `--provider simulator`.
 */
export function workerCommandFor(taskQueue: string, simulated?: boolean, env: NodeJS.ProcessEnv = process.env): string {
  const sim = simulated ?? isSimulatorQueue(taskQueue, env);
  const flags = [
    sim ? ' --provider simulator' : '',
    taskQueue === batchTaskQueue(sim, env) ? '' : ` --task-queue ${taskQueue}`,
  ];
  return `imagebatch worker${flags.join('')}`;
}

// Where a slot's handoff goes: each grant of the account paired with the release it answered, and the chain from the
// released task's end at the provider to the next task's submit split into hops, by the times the server recorded
// for the events and the simulator's times at both ends.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TaskTimes } from '../src/providers/simulator/stats';
import { slotGrantedSignal, slotReleaseSignal, type SlotRelease } from '../src/shared/accounts';
import { quantile, taskEnd } from './handoff';
import { eventMs, type HistoryEvent, runHistories } from './harness';

/** temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_STICKY */
const STICKY = 2;

type Payloads = { payloads?: unknown[] | null } | null | undefined;
const decode = <T>(p: Payloads): T =>
  defaultPayloadConverter.fromPayload<T>(p!.payloads![0] as Parameters<typeof defaultPayloadConverter.fromPayload>[0]);

/** The points of a chain, in order; each hop is named after the point it ends at. */
export const POINTS = [
  'task ready',
  'timer due',
  'timer fired',
  'image task scheduled (collect)',
  'image task started (collect)',
  'collect scheduled',
  'collect started',
  'collect completed',
  'image task scheduled (release)',
  'image task started (release)',
  'release sent',
  'account signalled',
  'account task scheduled',
  'account task started',
  'grant sent',
  'next image signalled',
  'next image task scheduled',
  'next image task started',
  'submit scheduled',
  'submit started',
  'task submitted',
] as const;
type Point = (typeof POINTS)[number];

type Marks = Partial<Record<Point, number>>;
/** What the releasing image's history says (the points up to its release). */
type ReleaseMarks = Marks & { taskId?: string };
/**
 * What the next holder's history says (from its grant to its submit); sticky: its workflow task went to the worker's
 * sticky queue (the worker has the workflow cached), not the task queue every worker polls.
 */
type GrantMarks = Marks & { sticky?: boolean };

/** A history's events by id, to follow a command to the workflow task that made it. */
function historyIndex(events: HistoryEvent[]) {
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  const at = (id: unknown) => {
    const e = byId.get(Number(id));
    return e && eventMs(e);
  };
  return {
    /** The workflow task that issued this command: when it was scheduled and started, and on which queue. */
    task: (a: { workflowTaskCompletedEventId?: unknown }) => {
      const done = byId.get(Number(a.workflowTaskCompletedEventId))?.workflowTaskCompletedEventAttributes;
      const scheduled = byId.get(Number(done?.scheduledEventId));
      return {
        scheduled: at(done?.scheduledEventId),
        started: at(done?.startedEventId),
        sticky: scheduled?.workflowTaskScheduledEventAttributes?.taskQueue?.kind === STICKY,
      };
    },
    activityType: (a: { scheduledEventId?: unknown } | null | undefined) =>
      a ? byId.get(Number(a.scheduledEventId))?.activityTaskScheduledEventAttributes?.activityType?.name : undefined,
  };
}

/** An image's points, both as the slot's releaser (its last collect and release) and as the next holder. */
function imageMarks(events: HistoryEvent[]): { release: ReleaseMarks; grant: GrantMarks } {
  const h = historyIndex(events);
  const r: ReleaseMarks = {};
  const g: GrantMarks = {};
  for (const e of events) {
    const t = eventMs(e);
    const timer = e.timerStartedEventAttributes;
    if (timer) {
      const d = timer.startToFireTimeout;
      r['timer due'] = t + Number(d?.seconds ?? 0) * 1000 + Math.floor((d?.nanos ?? 0) / 1e6);
    }
    if (e.timerFiredEventAttributes) r['timer fired'] = t;
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'collectImage') {
      const task = h.task(scheduled);
      r['image task scheduled (collect)'] = task.scheduled;
      r['image task started (collect)'] = task.started;
      r['collect scheduled'] = t;
    }
    // The first submit after the grant.
    if (scheduled?.activityType?.name === 'submitImage' && g['next image signalled'] && !g['submit scheduled']) {
      const task = h.task(scheduled);
      Object.assign(g, { 'next image task scheduled': task.scheduled, 'next image task started': task.started });
      g.sticky = task.sticky;
      g['submit scheduled'] = t;
      g['submit started'] = undefined;
    }
    const started = e.activityTaskStartedEventAttributes;
    if (h.activityType(started) === 'collectImage') r['collect started'] = t;
    if (h.activityType(started) === 'submitImage') g['submit started'] ??= t;
    const completed = e.activityTaskCompletedEventAttributes;
    if (h.activityType(completed) === 'collectImage') r['collect completed'] = t;
    if (h.activityType(completed) === 'submitImage') r.taskId = decode<{ taskId?: string }>(completed!.result).taskId;
    const sent = e.signalExternalWorkflowExecutionInitiatedEventAttributes;
    if (sent?.signalName === slotReleaseSignal.name) {
      const task = h.task(sent);
      r['image task scheduled (release)'] = task.scheduled;
      r['image task started (release)'] = task.started;
      r['release sent'] = t;
    }
    if (e.workflowExecutionSignaledEventAttributes?.signalName === slotGrantedSignal.name) {
      g['next image signalled'] = t;
      g['submit scheduled'] = undefined;
    }
  }
  return { release: r, grant: g };
}

/** A release the account handled and the grant that answered it. */
interface Handoff {
  from: string;
  to: string;
  points: Marks;
}

/** The account's grants after releases, each paired with the oldest release not yet answered (first in, first out). */
async function accountHandoffs(client: Client, accountId: string): Promise<Handoff[]> {
  const pending: { holder: string; at: number }[] = [];
  const out: Handoff[] = [];
  for (const run of await runHistories(client, accountId)) {
    const events = run.events ?? [];
    const h = historyIndex(events);
    for (const e of events) {
      const signalled = e.workflowExecutionSignaledEventAttributes;
      if (signalled?.signalName === slotReleaseSignal.name) {
        // token: `<holder workflow id>/<run id>/<request number>`
        const { token } = decode<SlotRelease>(signalled.input);
        pending.push({ holder: token.split('/').slice(0, -2).join('/'), at: eventMs(e) });
      }
      const sent = e.signalExternalWorkflowExecutionInitiatedEventAttributes;
      if (!sent || sent.signalName !== slotGrantedSignal.name) continue;
      const release = pending.shift();
      if (!release) continue; // a first grant: nobody gave this slot back
      const task = h.task(sent);
      out.push({
        from: release.holder,
        to: sent.workflowExecution!.workflowId!,
        points: {
          'account signalled': release.at,
          'account task scheduled': task.scheduled,
          'account task started': task.started,
          'grant sent': eventMs(e),
        },
      });
    }
  }
  return out;
}

type Spread = { p50: number; p95: number; mean: number };

export interface HopStats {
  /** Handoffs that could be followed end to end. */
  count: number;
  /** ms of each hop, named `from -> to`, and of the whole chain (task ready -> task submitted). */
  hops: Record<string, Spread>;
  /** Share of the next images' workflow tasks (grant -> submit) that went to the worker's sticky queue. */
  nextImageStickyShare: number;
  /** Each handoff's hops in the order of `hops`, to look at the slow ones. */
  chains: number[][];
}

const spread = (v: number[]): Spread => ({
  p50: quantile(v, 0.5),
  p95: quantile(v, 0.95),
  mean: Math.round(v.reduce((s, x) => s + x, 0) / Math.max(1, v.length)),
});

/** Follows every handoff the account made through the histories of the two images and the simulator's task times. */
export async function handoffHops(
  client: Client,
  accountId: string,
  tasks: Record<string, TaskTimes>,
): Promise<HopStats> {
  const marks = new Map<string, ReturnType<typeof imageMarks>>();
  const of = async (id: string) => {
    if (!marks.has(id)) marks.set(id, imageMarks((await runHistories(client, id)).flatMap((h) => h.events ?? [])));
    return marks.get(id)!;
  };
  const chains: number[][] = [];
  let sticky = 0;
  for (const h of await accountHandoffs(client, accountId)) {
    const a = (await of(h.from)).release;
    const b = await of(h.to);
    const ended = a.taskId ? tasks[a.taskId] : undefined;
    const next = b.release.taskId ? tasks[b.release.taskId] : undefined;
    // A release without a task (a throttled submit gives its slot back) has no end at the provider to start from.
    if (!ended || !next) continue;
    const all = { ...a, ...h.points, ...b.grant, 'task ready': taskEnd(ended), 'task submitted': next.submittedAt };
    const at = POINTS.map((p) => all[p]);
    if (at.some((t) => t === undefined)) continue;
    const t = at as number[];
    chains.push([...t.slice(1).map((x, i) => x - t[i]), t[t.length - 1] - t[0]]);
    if (b.grant.sticky) sticky++;
  }
  const names = [...POINTS.slice(1).map((p, i) => `${POINTS[i]} -> ${p}`), 'total'];
  return {
    count: chains.length,
    hops: Object.fromEntries(names.map((n, i) => [n, spread(chains.map((c) => c[i]))])),
    nextImageStickyShare: +(sticky / Math.max(1, chains.length)).toFixed(2),
    chains,
  };
}

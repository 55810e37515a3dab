// A batch's images as they end, read from the batch workflow's history, never from its folder (so from any machine
// that reaches the cluster). Each image workflow reports its result to the batch by the imageFinished signal: those
// signals, from the batch's first run on through every continue-as-new, are the batch's own record of its images,
// in the order it took them. The history is long-polled, so a running batch's images come as they end.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { childClosedResult } from '../shared/child-results';
import { type ImageEvent, imageEvent } from '../shared/image-event';
import { imageFinishedSignal } from '../shared/messages';
import type { ImageResult, ImageWorkflowInput, ProviderKind } from '../shared/types';
import { batchWorkflowId } from './batch-start';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

interface Child {
  item: ImageWorkflowInput['item'];
  provider: ProviderKind;
}

const when = (e: HistoryEvent) =>
  new Date(Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6)).toISOString();

/**
 * What one history event says of the batch's images. `children` (child workflow id -> its item) is filled from the
 * child starts; `seen` keeps one line per reporting image run (a signal is delivered once, but a run may report
 * before its cancellation and never again).
 */
export class ImageEventReader {
  private readonly children = new Map<string, Child>();
  private readonly seen = new Set<string>();

  read(e: HistoryEvent): ImageEvent | undefined {
    const started = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (started?.workflowId) {
      const input = payload<ImageWorkflowInput>(started.input?.payloads?.[0]);
      if (input?.item) this.children.set(started.workflowId, { item: input.item, provider: input.provider });
      return undefined;
    }
    const signaled = e.workflowExecutionSignaledEventAttributes;
    if (signaled?.signalName === imageFinishedSignal.name) {
      const result = payload<ImageResult>(signaled.input?.payloads?.[0]);
      if (!result) return undefined;
      const from = signaled.externalWorkflowExecution;
      const key = from?.workflowId ? `${from.workflowId}/${from.runId}` : `event ${e.eventId}`;
      if (this.seen.has(key)) return undefined;
      this.seen.add(key);
      return imageEvent(result, from?.workflowId ? this.children.get(from.workflowId)?.item : undefined, when(e));
    }
    // A child that ended without reporting (terminated, timed out): the batch counts it failed, so does its line.
    const gone =
      e.childWorkflowExecutionTerminatedEventAttributes?.workflowExecution ??
      e.childWorkflowExecutionTimedOutEventAttributes?.workflowExecution;
    if (gone?.workflowId) {
      const child = this.children.get(gone.workflowId);
      const key = `${gone.workflowId}/${gone.runId}`;
      if (!child || this.seen.has(key)) return undefined;
      this.seen.add(key);
      const how = e.childWorkflowExecutionTerminatedEventAttributes ? 'terminated' : 'timed out';
      const { item, provider } = child;
      const r = childClosedResult({
        itemId: item.id,
        provider,
        childId: gone.workflowId,
        how,
        cancelled: false,
        prompts: [],
      });
      return imageEvent(r, item, when(e));
    }
    return undefined;
  }
}

function payload<T>(p: temporal.api.common.v1.IPayload | undefined): T | undefined {
  if (!p) return undefined;
  try {
    return defaultPayloadConverter.fromPayload<T>(p);
  } catch {
    return undefined;
  }
}

/**
 * Every image of the batch that has ended, then each as it ends, until the batch closes: from the first run of its
 * workflow (describe names it), through each continue-as-new to the last.
 */
export async function* imageEvents(client: Client, batchId: string): AsyncGenerator<ImageEvent> {
  const workflowId = batchWorkflowId(batchId);
  const described = await client.workflow.getHandle(workflowId).describe();
  let runId: string | undefined = described.raw.workflowExecutionInfo?.firstRunId || described.runId;
  const reader = new ImageEventReader();
  while (runId) {
    let nextPageToken: Uint8Array | undefined;
    let continuedAs: string | undefined;
    do {
      const page = await client.workflowService.getWorkflowExecutionHistory({
        namespace: client.options.namespace,
        execution: { workflowId, runId },
        nextPageToken,
        // A running batch: the server answers when events come (or after its long-poll time, with none).
        waitNewEvent: true,
      });
      for (const e of page.history?.events ?? []) {
        const event = reader.read(e);
        if (event) yield event;
        continuedAs ||= e.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
      }
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    runId = continuedAs;
  }
}

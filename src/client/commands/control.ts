// Control of a running batch: cancel, pause, concurrency (retry and resume have their own files). Each is a Workflow
// Update that answers with what it did, printed as is.
import { cancelUpdate, type ControlAnswer, pauseUpdate, setConcurrencyUpdate } from '../../shared/messages';
import { type BatchHandle, findBatch } from '../batch-lookup';
import { selection, sendControl } from '../control-request';
import { withSession } from '../session';

function controlCommand<A extends unknown[]>(send: (h: BatchHandle, ...a: A) => Promise<ControlAnswer>) {
  return async (batchId: string, flags: { db?: string }, ...args: A): Promise<number> =>
    withSession(
      async (session) => sendControl(session, await findBatch(session.client, batchId), (h) => send(h, ...args)),
      flags.db,
    );
}

export const cancelCommand = controlCommand((h, items: string[]) =>
  h.executeUpdate(cancelUpdate, { args: [selection(items)] }),
);
export const pauseCommand = controlCommand((h) => h.executeUpdate(pauseUpdate));
export const concurrencyCommand = controlCommand((h, n: number) =>
  h.executeUpdate(setConcurrencyUpdate, { args: [n] }),
);

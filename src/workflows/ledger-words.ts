// How the ledger judges the items a control request names, and the words its answers and refusals use.

/** A control request that the batch refuses, with the reason in words. */
export class ControlRefused extends Error {
  name = 'ControlRefused';
}

/** Where an item of the batch stands. */
export type ItemWhere = 'running' | 'failed' | 'cancelled' | 'retrying' | 'queued' | 'succeeded' | 'unknown';

export const CANCELLABLE: ReadonlySet<ItemWhere> = new Set(['running', 'queued', 'retrying']);
export const RETRYABLE: ReadonlySet<ItemWhere> = new Set(['failed', 'cancelled']);

const WHY_NOT: Record<ItemWhere, string> = {
  running: 'is running',
  failed: 'has already failed',
  cancelled: 'is already cancelled',
  retrying: 'is already queued for a retry',
  queued: 'has not run yet',
  succeeded: 'has already succeeded',
  unknown: 'is not in this batch',
};

/**
 * The named items the request may act on, and the reasons for the others. An item whose place is not known yet
 * (`where` undefined: a batch whose items are paged, before they are looked up) is accepted here; the caller
 * decides what that means.
 */
export function sortItems(
  ids: string[],
  where: (id: string) => ItemWhere | undefined,
  allowed: ReadonlySet<ItemWhere>,
): { accepted: string[]; refused: string[] } {
  const accepted: string[] = [];
  const refused: string[] = [];
  for (const id of new Set(ids)) {
    const w = where(id);
    if (w === undefined || allowed.has(w)) accepted.push(id);
    else refused.push(`item '${id}' ${WHY_NOT[w]}`);
  }
  return { accepted, refused };
}

export function refuseIfAny(refused: string[]): void {
  if (refused.length) throw new ControlRefused(refused.join('; '));
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** "2 items: a, b" (at most 20 named). */
export function describeItems(ids: string[]): string {
  if (!ids.length) return 'no items';
  const named = ids.slice(0, 20).join(', ');
  return `${plural(ids.length, 'item')}: ${named}${ids.length > 20 ? ', …' : ''}`;
}

// The ETA rule: the rate observed since the batch started, times the items left. Pure, so the batch workflow
// (workflow time is deterministic) computes it and the unit tests pin it down.

/** No estimate until this many items have finished: two intervals are the least that says anything of a rate. */
export const ETA_MIN_FINISHED = 3;

/** What the batch keeps for the rate: when the first item finished (ms) and how many have finished since, it included. */
export interface RateMark {
  firstAt: number;
  finished: number;
}

/** One more item finished at `now`. */
export function markFinished(mark: RateMark | undefined, now: number): RateMark {
  return mark ? { ...mark, finished: mark.finished + 1 } : { firstAt: now, finished: 1 };
}

/**
 * Items per minute since the batch started (`since`, ms), and when the `left` items end at that rate. Not since the
 * first item finished: a window of C images of latency L finishes its first C almost together, which read as a rate
 * many times the real C/L for most of the batch; since the start it is C/L from the first round on. Nothing until
 * ETA_MIN_FINISHED have finished, or while time has not moved; no ETA when nothing is left.
 */
export function estimate(
  mark: RateMark | undefined,
  left: number,
  now: number,
  since: number,
): { ratePerMinute?: number; eta?: string } {
  if (!mark || mark.finished < ETA_MIN_FINISHED) return {};
  const elapsed = now - since;
  if (elapsed <= 0) return {};
  const perMs = mark.finished / elapsed;
  const ratePerMinute = Math.round(perMs * 60_000 * 10) / 10;
  if (left <= 0) return { ratePerMinute };
  return { ratePerMinute, eta: new Date(now + Math.ceil(left / perMs)).toISOString() };
}

/** "ETA 40 s", "ETA 4 min", "ETA 2 h 5 min": how long from `now` to `eta`. */
export function etaWords(eta: string, now: number): string {
  const s = Math.max(0, Math.round((Date.parse(eta) - now) / 1000));
  if (s < 60) return `ETA ${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `ETA ${min} min`;
  return `ETA ${Math.floor(min / 60)} h${min % 60 ? ` ${min % 60} min` : ''}`;
}

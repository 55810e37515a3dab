// The ETA rule: the rate observed since the batch started, times the items left. Pure, so the batch workflow
// (workflow time is deterministic) computes it and the unit tests pin it down.

/** No estimate until this many items have finished: fewer say too little of a rate. */
export const ETA_MIN_FINISHED = 3;

/**
 * Items per minute since the batch started (`finished` of them since `since`, ms), and when the `left` items end at
 * that rate. Not since the first item finished: a window of C images of latency L finishes its first C almost together, which read as a rate
 * many times the real C/L for most of the batch; since the start it is C/L from the first round on. Nothing until
 * ETA_MIN_FINISHED have finished, or while time has not moved; no ETA when nothing is left.
 */
export function estimate(
  finished: number,
  left: number,
  now: number,
  since: number,
): { ratePerMinute?: number; eta?: string } {
  if (finished < ETA_MIN_FINISHED) return {};
  const elapsed = now - since;
  if (elapsed <= 0) return {};
  const perMs = finished / elapsed;
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

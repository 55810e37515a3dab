// Fair shares of an account's limit between batches (max-min fairness, "water filling"): each batch gets as much as
// it wants up to an equal share, and what a batch does not need is shared by the others. Plain arithmetic.

/**
 * Shares of `total` slots by batch. `demand`: slots each batch wants; `held`: slots each holds now, so that an odd
 * slot stays with a batch that holds it (one taken back and given to another would gain nobody anything).
 */
export function fairShares(
  total: number,
  demand: ReadonlyMap<string, number>,
  held: ReadonlyMap<string, number>,
): Map<string, number> {
  const share = new Map<string, number>([...demand.keys()].map((b) => [b, 0]));
  const order = [...demand.keys()].sort((a, b) => (held.get(b) ?? 0) - (held.get(a) ?? 0));
  let left = total;
  for (let given = true; left > 0 && given;) {
    given = false;
    for (const b of order) {
      const s = share.get(b) ?? 0;
      if (left > 0 && s < (demand.get(b) ?? 0)) {
        share.set(b, s + 1);
        left--;
        given = true;
      }
    }
  }
  return share;
}

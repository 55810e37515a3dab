// Variations: an item with `n` or `seeds` becomes one item per variant (`<id>-<k>`, `group`, `variant`, its own
// seed), so each is its own child workflow and its own file. A seed drawn here is written into the variant: the items
// copy and the manifest then hold the seed that made the image, and a reuse of the manifest asks for the same one.
import { randomInt } from 'node:crypto';
import { SAFE_NAME } from '../shared/item-schema';
import type { ImageItem } from '../shared/types';
import type { FieldProblem } from './fields';

export const MAX_SEED = 2147483647;

/** A seed for a variant whose item gave none: 0..2^31-1, as every provider accepts. */
export const drawSeed = (): number => randomInt(MAX_SEED + 1);

export type Expansion = { items: ImageItem[] } | { problems: FieldProblem[] };

function problemsOf(item: ImageItem, count: number): FieldProblem[] {
  const out: FieldProblem[] = [];
  const { n, seeds, seed } = item;
  if (item.variant !== undefined || item.group !== undefined)
    out.push({ field: 'n', message: 'an item that is already a variant (group, variant) is not expanded again' });
  if (n !== undefined && seeds && seeds.length !== n)
    out.push({ field: 'seeds', message: `has ${seeds.length} seeds but n is ${n}: give one seed per variant` });
  if (seeds && seed !== undefined)
    out.push({ field: 'seed', message: 'give seed (the first of n) or seeds (one per variant), not both' });
  if (!seeds && seed !== undefined && seed >= 0 && seed + count - 1 > MAX_SEED)
    out.push({ field: 'seed', message: `seed + n - 1 is over ${MAX_SEED}` });
  const lastId = `${item.id}-${count}`;
  if (count > 1 && !SAFE_NAME.test(lastId))
    out.push({ field: 'id', message: `'${lastId}' (the id of variant ${count}) is over 128 characters` });
  return out;
}

/** The items an item stands for: itself (without `n`/`seeds`), or its variants. */
export function expandVariations(item: ImageItem, draw: () => number = drawSeed): Expansion {
  if (item.n === undefined && item.seeds === undefined) return { items: [item] };
  const { n, seeds, ...base } = item;
  const count = seeds?.length ?? n!;
  const problems = problemsOf(item, count);
  if (problems.length) return { problems };
  // n: 1 is a plain item; seeds: [s] is a plain item with that seed.
  if (count === 1) return { items: [seeds ? { ...base, seed: seeds[0] } : base] };
  const seedOf = (k: number): number => {
    if (seeds) return seeds[k - 1];
    if (item.seed !== undefined && item.seed >= 0) return item.seed + k - 1;
    return draw(); // no seed, or -1 (random): drawn here so that it is recorded
  };
  const items = Array.from({ length: count }, (_, i): ImageItem => {
    const k = i + 1;
    return { ...base, id: `${item.id}-${k}`, group: item.id, variant: k, seed: seedOf(k) };
  });
  return { items };
}

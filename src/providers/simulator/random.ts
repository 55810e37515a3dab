// A seeded PRNG (mulberry32), so fault and latency draws repeat for the same seed.
import type { Latency } from './knobs';

export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function drawLatency(l: Latency, rnd: () => number): number {
  if (typeof l === 'number') return l;
  if (l.dist === 'uniform') return l.min + (l.max - l.min) * rnd();
  // Box-Muller, clipped at zero.
  const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  return Math.max(0, l.mean + l.sd * z);
}

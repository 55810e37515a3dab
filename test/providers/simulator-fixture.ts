// One simulator for a test file, its knobs back to quiet defaults before each test, and the checks every provider
// test makes: a classified error, and a real PNG that is the one the simulator served.
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { PNG } from 'pngjs';
import type { KnobsInput } from '../../src/providers/simulator/knobs';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { type ImageRef, ProviderError } from '../../src/providers/types';
import { rejectionOf } from '../helpers/failures';
import { knobsFrom } from '../helpers/simulator-knobs';

const QUIET: KnobsInput = {
  latencyMs: 0,
  queueShare: 0.2,
  moderationWords: ['gore'],
  moderationAt: 'submit',
  fail5xx: 0,
  fail429: 0,
  malformed: 0,
  hang: 0,
  slow: 0,
  expire: 0,
  concurrencyLimit: 0,
  falModeration: 'content_policy_violation',
};

/** The simulator of this file; reset and quiet before each test. */
export function useSimulator(): () => ProviderSimulator {
  let sim: ProviderSimulator;
  beforeAll(async () => {
    sim = await startSimulator(QUIET);
  });
  afterAll(() => sim.close());
  beforeEach(() => {
    sim.setKnobs(knobsFrom(QUIET));
    sim.reset();
  });
  return () => sim;
}

export const errorOf = (p: Promise<unknown>): Promise<ProviderError> => rejectionOf(p, ProviderError);

/** The image's bytes (downloaded when it is a URL), checked to be a PNG of the given size. */
export async function pngOf(ref: ImageRef, size?: [number, number]): Promise<Buffer> {
  let bytes: Buffer;
  if ('base64' in ref) bytes = Buffer.from(ref.base64, 'base64');
  else {
    const res = await request(ref.url);
    expect(res.statusCode).toBe(200);
    bytes = Buffer.from(await res.body.arrayBuffer());
  }
  const png = PNG.sync.read(bytes);
  if (size) expect([png.width, png.height]).toEqual(size);
  return bytes;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// The obvious alternative: p-limit plus a poll loop, calling the same provider client and writing files the
// same way, with no durability at all.
import { downloadImage } from '../src/activities/image-download';
import { storeImage } from '../src/output/image-file';
import { type ProviderClients, taskClient } from '../src/providers';
import type { ImageItem, ProviderKind } from '../src/shared/types';

/** Runs functions at most N at a time; loops given the same one compete for the same N (one account's limit). */
export type Limit = <T>(fn: () => Promise<T>) => Promise<T>;

export async function pLimitOf(n: number): Promise<Limit> {
  const { default: pLimit } = await import('p-limit');
  return pLimit(n);
}

export interface BaselineOptions {
  items: ImageItem[];
  /** How many at a time, or a limit shared with other loops. */
  concurrency: number | Limit;
  provider: ProviderKind;
  providers: ProviderClients;
  outDir: string;
  pollIntervalMs: number;
  expectedLatencyMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runBaseline(o: BaselineOptions): Promise<{ succeeded: number; failed: number }> {
  const limit = typeof o.concurrency === 'number' ? await pLimitOf(o.concurrency) : o.concurrency;
  const client = taskClient(o.providers, o.provider);
  let succeeded = 0;
  let failed = 0;
  await Promise.all(
    o.items.map((item) =>
      limit(async () => {
        try {
          const task = await client.submit({ prompt: item.prompt, seed: item.seed });
          await sleep(o.expectedLatencyMs);
          for (;;) {
            const st = await client.status(task);
            if (st.state === 'done') {
              const ref = st.images[0];
              const data = 'base64' in ref ? Buffer.from(ref.base64, 'base64') : await downloadImage(ref.url);
              await storeImage({ outDir: o.outDir, itemId: item.id }, data);
              succeeded++;
              return;
            }
            if (st.state === 'failed') throw st.error;
            await sleep(o.pollIntervalMs);
          }
        } catch {
          failed++;
        }
      }),
    ),
  );
  return { succeeded, failed };
}

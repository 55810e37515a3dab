// `--batch-api` and `--batch-retry` against their variables and config.json: which wins, what is refused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveBatchApi } from '../../src/client/batch-api-settings';
import { UsageError } from '../../src/client/exit-codes';
import type { RunSettings } from '../../src/client/settings';

const settings = (sources: Record<string, string> = {}): RunSettings => ({
  concurrency: 7,
  policy: { pollIntervalMs: 1500, maxWaitMs: 180_000, retries: 3, simplifications: 2, expectedLatencyMs: 0 },
  accountLimits: {},
  sources,
});
const OPENAI = { provider: 'openai' as const };
const items = [{ id: 'a', prompt: 'a' }];

describe('resolveBatchApi', () => {
  it('off unless asked for; the flag wins over the variable, which wins over config.json', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-bapi-'));
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ image_generation: { batch_api: true, batch_retry: 'individual' } }));
    expect(resolveBatchApi({}, OPENAI, items, settings(), {})).toBeUndefined();
    expect(resolveBatchApi({ config }, OPENAI, items, settings(), {})?.batchApi.retry).toBe('individual');
    expect(resolveBatchApi({ config }, OPENAI, items, settings(), { IMAGEBATCH_BATCH_API: '0' })).toBeUndefined();
    const env = { IMAGEBATCH_BATCH_API: '1', IMAGEBATCH_BATCH_RETRY: 'next-job' };
    expect(resolveBatchApi({ config }, OPENAI, items, settings(), env)?.batchApi.retry).toBe('next-job');
    expect(resolveBatchApi({ config, batchApi: false }, OPENAI, items, settings(), env)).toBeUndefined();
  });

  it('lines in flight 2000 unless a concurrency was given; the first poll after --poll-interval only when given', () => {
    const on = resolveBatchApi({ batchApi: true }, OPENAI, items, settings(), {});
    expect(on).toEqual({ batchApi: { retry: 'next-job' }, concurrency: 2000 });
    const given = resolveBatchApi(
      { batchApi: true },
      OPENAI,
      items,
      settings({ concurrency: '--concurrency', pollInterval: '--poll-interval' }),
      { IMAGEBATCH_BATCH_API_MAX_LINES: '3' },
    );
    expect(given).toEqual({ batchApi: { retry: 'next-job', maxLines: 3, firstPollMs: 1500 }, concurrency: 7 });
  });

  it('refuses another provider, a fallback list, an item naming another, and a wrong retry mode', () => {
    const refused = (f: () => unknown) => expect(f).toThrow(UsageError);
    refused(() => resolveBatchApi({ batchApi: true }, { provider: 'fal' }, items, settings(), {}));
    refused(() =>
      resolveBatchApi({ batchApi: true }, { provider: 'openai', providers: ['openai', 'fal'] }, items, settings(), {}),
    );
    refused(() =>
      resolveBatchApi({ batchApi: true }, OPENAI, [{ id: 'a', prompt: 'a', provider: 'fal' }], settings(), {}),
    );
    refused(() => resolveBatchApi({ batchApi: true, batchRetry: 'later' }, OPENAI, items, settings(), {}));
    refused(() => resolveBatchApi({ batchRetry: 'individual' }, OPENAI, items, settings(), {}));
  });

  it('refuses an item with reference images before anything starts, naming it and the field', () => {
    const edit = [...items, { id: 'e1', prompt: 'e', referenceImages: ['https://example.com/r.png'] }];
    expect(() => resolveBatchApi({ batchApi: true }, OPENAI, edit, settings(), {})).toThrow(
      /item 'e1': referenceImages: --batch-api sends generations only/,
    );
    expect(resolveBatchApi({}, OPENAI, edit, settings(), {})).toBeUndefined();
  });
});

// /__stats keeps its totals and adds, per wire format, what came in by it.
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { DashscopeClient } from '../../src/providers/dashscope/client';
import { FalClient } from '../../src/providers/fal/client';
import { OpenaiClient } from '../../src/providers/openai/client';
import { errorOf, useSimulator } from './simulator-fixture';

const sim = useSimulator();

describe('simulator stats by provider', () => {
  it('counts submissions, refusals and requests per wire format, and the totals over them', async () => {
    const url = sim().url;
    sim().setKnobs({ latencyMs: 60_000 });
    await new DashscopeClient({ baseUrl: `${url}/api/v1`, apiKey: 'sk-simulator' }).submit({ prompt: 'a' });
    await new FalClient({ queueUrl: `${url}/fal`, apiKey: 'fal-simulator' }).submit({ prompt: 'b' });
    await errorOf(
      new OpenaiClient({ baseUrl: `${url}/v1`, apiKey: 'sk-openai-simulator' }).generate({ prompt: 'gore' }),
    );
    const stats = (await (await request(`${url}/__stats`)).body.json()) as ReturnType<ReturnType<typeof sim>['stats']>;
    expect(stats.submissions).toBe(2);
    expect(stats.refusedSubmissions).toBe(1);
    expect(stats.byProvider).toEqual({
      dashscope: { submissions: 1, refusedSubmissions: 0, maxInFlight: 1, cancels: 0, requestsByOutcome: { ok: 1 } },
      fal: { submissions: 1, refusedSubmissions: 0, maxInFlight: 1, cancels: 0, requestsByOutcome: { ok: 1 } },
      openai: {
        submissions: 0,
        refusedSubmissions: 1,
        maxInFlight: 0,
        cancels: 0,
        requestsByOutcome: { moderated: 1 },
      },
    });
  });
});

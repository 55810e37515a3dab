// The provider plan of run, start, worker, retry and resume, decided once before anything starts: the --provider
// list, the simulator playing Volcengine, which providers a worker serves, and every exit-2 case naming the variables
// to set.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/client/exit-codes';
import { parseProviderChoice } from '../../src/client/provider-list';
import { planForBatch, planProviders, providersNeeded } from '../../src/client/provider-plan';
import { SIMULATED_BATCH } from '../../src/shared/batch-types';
import { setupProviders } from '../../src/client/provider-setup';
import type { BatchInput } from '../../src/shared/batch-types';
import { DEFAULT_POLICY } from '../../src/shared/policy';
import type { ImageItem } from '../../src/shared/types';

const usage = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('no UsageError');
};

const FAL = { FAL_KEY: 'f' };
const DASH = { DASHSCOPE_API_KEY: 'd' };

describe('--provider values', () => {
  it('takes simulator, one provider, or a list in fallback order', () => {
    expect(parseProviderChoice('simulator')).toEqual({ simulator: true });
    expect(parseProviderChoice('comfyui')).toEqual({ simulator: false, kinds: ['comfyui'] });
    expect(parseProviderChoice('fal, dashscope')).toEqual({ simulator: false, kinds: ['fal', 'dashscope'] });
  });

  it('refuses an unknown name, a repeat and the simulator in a list', () => {
    expect(usage(() => parseProviderChoice('midjourney'))).toMatch(
      /--provider: 'midjourney' is not one of simulator, volcengine, dashscope, fal, openai, comfyui/,
    );
    expect(usage(() => parseProviderChoice('fal,mj'))).toMatch(/names 'mj', which is not one of/);
    expect(usage(() => parseProviderChoice('fal,fal'))).toMatch(/names fal twice/);
    expect(usage(() => parseProviderChoice('fal,simulator'))).toMatch(/mixes the simulator/);
    expect(usage(() => parseProviderChoice(''))).toMatch(/is not one of/);
  });

  it("gives the batch's providers as its input takes them: a list only when there are several", () => {
    expect(planProviders('fal,openai', 'start', {}).batch).toEqual({ provider: 'fal', providers: ['fal', 'openai'] });
    expect(planProviders('fal', 'start', {}).batch).toEqual({ provider: 'fal' });
    expect(planProviders(undefined, 'start', FAL).batch).toEqual({ provider: 'fal' });
  });

  it("a simulated batch is Volcengine's, whether asked for or for want of credentials", () => {
    expect(SIMULATED_BATCH).toEqual({ provider: 'volcengine' });
    expect(planProviders('simulator', 'start', FAL).batch).toBe(SIMULATED_BATCH);
    expect(planProviders(undefined, 'run', {}).batch).toBe(SIMULATED_BATCH);
  });
});

describe('run', () => {
  it('a list: the first is the provider, the list the fallback order; it serves every provider it has keys for', () => {
    const plan = planProviders('fal,dashscope', 'run', { ...FAL, ...DASH, OPENAI_API_KEY: 'o' });
    expect(plan).toMatchObject({ batch: { provider: 'fal', providers: ['fal', 'dashscope'] }, simulated: false });
    expect(plan.serves).toEqual(['dashscope', 'fal', 'openai']);
    expect(planProviders('fal', 'run', FAL).batch.providers).toBeUndefined();
  });

  it('a provider of the list without its keys is exit 2 naming its variables', () => {
    expect(usage(() => planProviders('fal,dashscope', 'run', FAL))).toMatch(
      /^--provider fal,dashscope: DASHSCOPE_API_KEY is not set; set it, or use --provider simulator/,
    );
    expect(usage(() => planProviders('openai,comfyui', 'run', {}))).toMatch(
      /OPENAI_API_KEY \(openai\) and COMFYUI_URL \(comfyui\) are not set; set them/,
    );
    expect(usage(() => planProviders('volcengine', 'run', { VOLC_ACCESSKEY: 'a' }))).toMatch(
      /VOLC_ACCESSKEY and VOLC_SECRETKEY are not set; set them/,
    );
  });

  it('without --provider: the first provider with keys, else the simulator serving all five', () => {
    expect(planProviders(undefined, 'run', { ...FAL, COMFYUI_URL: 'http://x' }).batch.provider).toBe('fal');
    const sim = planProviders(undefined, 'run', {});
    expect(sim).toMatchObject({ batch: { provider: 'volcengine' }, simulated: true });
    expect(sim.serves).toHaveLength(5);
    expect(sim.taskQueue).toMatch(/-simulator$/);
  });
});

describe('start', () => {
  it('needs no keys here: it names the providers whose workers must have them', () => {
    const plan = planProviders('fal,dashscope', 'start', DASH);
    expect(plan).toMatchObject({ batch: { provider: 'fal' }, credentialsElsewhere: ['fal'], serves: [] });
    expect(planProviders('dashscope', 'start', DASH).credentialsElsewhere).toBeUndefined();
  });

  it('--task-queue names the queue', () => {
    expect(planProviders('fal', 'start', {}, 'elsewhere').taskQueue).toBe('elsewhere');
    expect(planProviders('fal', 'start', {}).taskQueue).toBe('imagebatch');
    expect(planProviders('fal', 'start', { IMAGEBATCH_TASK_QUEUE: 'mine' }).taskQueue).toBe('mine');
  });

  it("needs workers for the batch's providers and for those its items name", () => {
    const items: ImageItem[] = [
      { id: 'a', prompt: 'x' },
      { id: 'b', prompt: 'y', provider: ['openai', 'fal'] },
      { id: 'c', prompt: 'z', provider: 'comfyui' },
    ];
    expect(providersNeeded(planProviders('fal,dashscope', 'start', {}).batch, items)).toEqual([
      'dashscope',
      'fal',
      'openai',
      'comfyui',
    ]);
    expect(providersNeeded({ provider: 'volcengine' }, [])).toEqual(['volcengine']);
  });

  it('without --provider and without keys is exit 2 naming all the variables', () => {
    expect(usage(() => planProviders(undefined, 'start', {}))).toMatch(
      /no provider credentials are set \(VOLC_ACCESSKEY .*COMFYUI_URL \(comfyui\)\).*--provider simulator/,
    );
  });
});

describe('worker', () => {
  it('serves every provider whose credentials are set', () => {
    const plan = planProviders(undefined, 'worker', { ...DASH, ...FAL });
    expect(plan.serves).toEqual(['dashscope', 'fal']);
    expect(plan.simulated).toBe(false);
  });

  it('with --provider, only those, each with its keys', () => {
    expect(planProviders('dashscope', 'worker', { ...DASH, ...FAL }).serves).toEqual(['dashscope']);
    expect(usage(() => planProviders('fal', 'worker', DASH))).toMatch(/--provider fal: FAL_KEY is not set/);
  });

  it('with no credentials at all is exit 2 naming every variable, unless --provider simulator', () => {
    expect(usage(() => planProviders(undefined, 'worker', {}))).toMatch(
      /^no provider credentials are set: set VOLC_ACCESSKEY and VOLC_SECRETKEY \(volcengine\), DASHSCOPE_API_KEY \(dashscope\), FAL_KEY \(fal\), OPENAI_API_KEY \(openai\) or COMFYUI_URL \(comfyui\), or use --provider simulator/,
    );
    expect(planProviders('simulator', 'worker', {})).toMatchObject({ simulated: true });
  });

  it('--endpoint needs --provider when the worker serves several', async () => {
    const env = { ...DASH, ...FAL };
    await expect(setupProviders(planProviders(undefined, 'worker', env), 'http://x', env)).rejects.toThrow(
      /--endpoint: this worker serves dashscope, fal; name the provider/,
    );
    const one = await setupProviders(planProviders('fal', 'worker', env), 'http://fal.local/', env);
    expect(Object.keys(one.providers)).toEqual(['fal']);
    expect(one.providers.fal!.account().endpoint).toBe('http://fal.local');
  });
});

describe('working an existing batch here (retry, resume)', () => {
  const input = (o: Partial<BatchInput>, items: ImageItem[] = [{ id: 'a', prompt: 'x' }]): BatchInput => ({
    batchId: 'b',
    items: { kind: 'inline', items },
    outDir: '/tmp/b',
    provider: 'fal',
    concurrency: 1,
    policy: DEFAULT_POLICY,
    ...o,
  });
  const found = { batchId: 'b', taskQueue: 'imagebatch' };

  it("needs the keys of every provider of the batch's list", async () => {
    const batch = input({ providers: ['fal', 'openai'] });
    await expect(planForBatch(found, batch, undefined, FAL)).rejects.toThrow(
      /OPENAI_API_KEY is not set here, and batch b uses openai/,
    );
    const plan = await planForBatch(found, batch, undefined, { ...FAL, OPENAI_API_KEY: 'o' });
    expect(plan).toMatchObject({
      batch: { provider: 'fal', providers: ['fal', 'openai'] },
      simulated: false,
      taskQueue: 'imagebatch',
    });
  });

  it('refuses to work a batch here whose items name a provider this machine has no keys for', async () => {
    const comfy = input({}, [{ id: 'a', prompt: 'x', provider: ['fal', 'comfyui'] }]);
    await expect(planForBatch(found, comfy, undefined, FAL)).rejects.toThrow(
      /COMFYUI_URL is not set here, and batch b uses comfyui/,
    );
    const own = input({}, [{ id: 'a', prompt: 'x', provider: 'fal' }]);
    await expect(planForBatch(found, own, undefined, FAL)).resolves.toMatchObject({ batch: { provider: 'fal' } });
  });

  it("keeps the batch's queue; the simulator only for a simulated batch, and never for a real one", async () => {
    const elsewhere = { batchId: 'b', taskQueue: 'imagebatch-simulator-4567' };
    await expect(planForBatch(elsewhere, input({}), 'fal', {})).resolves.toMatchObject({
      simulated: true,
      batch: SIMULATED_BATCH,
      taskQueue: 'imagebatch-simulator-4567',
    });
    await expect(planForBatch(found, input({}), 'simulator', FAL)).rejects.toThrow(
      /batch b runs on task queue 'imagebatch' \(fal\), not the simulator's/,
    );
  });
});

// The provider plan of run, start and worker, decided before anything starts: the --provider list, which providers
// a worker serves, and every exit-2 case naming the variables to set.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/client/exit-codes';
import { batchProvidersOf, parseProviderChoice } from '../../src/client/provider-list';
import { planProviders, setupForBatch, setupProviders } from '../../src/client/provider-setup';

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

  it('gives the items reader the batch providers leniently', () => {
    expect(batchProvidersOf('fal,openai')).toEqual(['fal', 'openai']);
    expect(batchProvidersOf('simulator')).toEqual(['volcengine']);
    expect(batchProvidersOf('nonsense')).toEqual(['volcengine']);
    expect(batchProvidersOf(undefined, FAL)).toEqual(['fal']);
    expect(batchProvidersOf(undefined, {})).toEqual(['volcengine']);
  });
});

describe('run', () => {
  it('a list: the first is the provider, the list the fallback order; it serves every provider it has keys for', () => {
    const plan = planProviders('fal,dashscope', 'run', { ...FAL, ...DASH, OPENAI_API_KEY: 'o' });
    expect(plan).toMatchObject({ provider: 'fal', providerList: ['fal', 'dashscope'], simulated: false });
    expect(plan.serves).toEqual(['dashscope', 'fal', 'openai']);
    expect(planProviders('fal', 'run', FAL).providerList).toBeUndefined();
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
    expect(planProviders(undefined, 'run', { ...FAL, COMFYUI_URL: 'http://x' }).provider).toBe('fal');
    const sim = planProviders(undefined, 'run', {});
    expect(sim).toMatchObject({ provider: 'volcengine', simulated: true });
    expect(sim.serves).toHaveLength(5);
    expect(sim.taskQueue).toMatch(/-simulator$/);
  });
});

describe('start', () => {
  it('needs no keys here: it names the providers whose workers must have them', () => {
    const plan = planProviders('fal,dashscope', 'start', DASH);
    expect(plan).toMatchObject({ provider: 'fal', credentialsElsewhere: ['fal'], serves: [] });
    expect(planProviders('dashscope', 'start', DASH).credentialsElsewhere).toBeUndefined();
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
    await expect(setupProviders(undefined, 'worker', 'http://x', { ...DASH, ...FAL })).rejects.toThrow(
      /--endpoint: this worker serves dashscope, fal; name the provider/,
    );
    const one = await setupProviders('fal', 'worker', 'http://fal.local/', { ...DASH, ...FAL });
    expect(Object.keys(one.providers)).toEqual(['fal']);
    expect(one.providers.fal!.account().endpoint).toBe('http://fal.local');
  });
});

describe('working an existing batch here (retry, resume)', () => {
  it("needs the keys of every provider of the batch's list", async () => {
    const batch = {
      batchId: 'b',
      taskQueue: 'imagebatch',
      provider: 'fal' as const,
      providers: ['fal', 'openai'] as const,
    };
    await expect(setupForBatch({ ...batch, providers: [...batch.providers] }, {}, FAL)).rejects.toThrow(
      /OPENAI_API_KEY is not set here, and batch b uses openai/,
    );
    const setup = await setupForBatch(
      { ...batch, providers: [...batch.providers] },
      {},
      { ...FAL, OPENAI_API_KEY: 'o' },
    );
    expect(setup).toMatchObject({ provider: 'fal', providerList: ['fal', 'openai'], taskQueue: 'imagebatch' });
  });

  it('refuses to work a batch here whose items name a provider this machine has no keys for', async () => {
    const one = { batchId: 'b', taskQueue: 'imagebatch', provider: 'fal' as const };
    await expect(setupForBatch({ ...one, itemProviders: ['comfyui'] }, {}, FAL)).rejects.toThrow(
      /COMFYUI_URL is not set here, and batch b uses comfyui/,
    );
    await expect(setupForBatch({ ...one, itemProviders: ['fal'] }, {}, FAL)).resolves.toMatchObject({
      provider: 'fal',
    });
  });
});

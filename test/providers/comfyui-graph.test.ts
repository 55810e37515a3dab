// Putting an item into a ComfyUI graph: the mapping, params as node inputs, the seed and the prompt_id.
import { describe, expect, it } from 'vitest';
import { buildComfyGraph, comfyPromptId } from '../../src/providers/comfyui/client';
import { DEFAULT_COMFY_WORKFLOW } from '../../src/providers/comfyui/default-graph';
import { applyGraphMapping, applyGraphParams } from '../../src/providers/comfyui/graph';
import type { ApiGraph } from '../../src/providers/comfyui/graph-types';
import { ProviderError } from '../../src/providers/types';

const { graph, mapping } = DEFAULT_COMFY_WORKFLOW;

function refusal(f: () => unknown): ProviderError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('not refused');
}

describe('comfyui graph mapping', () => {
  it('puts prompt, negative prompt, seed, size and checkpoint into the default graph, leaving it unchanged', () => {
    const before = structuredClone(graph);
    const out = applyGraphMapping(graph, mapping, {
      prompt: 'a fox',
      negativePrompt: 'blur',
      seed: 42,
      width: 640,
      height: 448,
      model: 'sdxl.safetensors',
    });
    expect(out['6'].inputs.text).toBe('a fox');
    expect(out['7'].inputs.text).toBe('blur');
    expect(out['3'].inputs.seed).toBe(42);
    expect(out['5'].inputs).toMatchObject({ width: 640, height: 448 });
    expect(out['4'].inputs.ckpt_name).toBe('sdxl.safetensors');
    expect(graph).toEqual(before);
  });

  it('puts a field into every input a list names', () => {
    const two: ApiGraph = { ...structuredClone(graph), '10': { class_type: 'KSampler', inputs: { seed: 0 } } };
    const out = applyGraphMapping(
      two,
      {
        prompt: mapping.prompt,
        seed: [
          { node: '3', input: 'seed' },
          { node: '10', input: 'seed' },
        ],
      },
      { prompt: 'p', seed: 9 },
    );
    expect([out['3'].inputs.seed, out['10'].inputs.seed]).toEqual([9, 9]);
  });

  it('refuses a value the mapping has no place for, and a mapping that names what the graph lacks', () => {
    expect(refusal(() => applyGraphMapping(graph, { prompt: mapping.prompt }, { prompt: 'p', width: 64 })).type).toBe(
      'InvalidRequest',
    );
    const noNode = { prompt: { node: '99', input: 'text' } };
    expect(refusal(() => applyGraphMapping(graph, noNode, { prompt: 'p' })).message).toContain('"99"');
    const noInput = { prompt: { node: '6', input: 'txt' } };
    expect(refusal(() => applyGraphMapping(graph, noInput, { prompt: 'p' })).message).toContain('6.txt');
  });

  it('sets node inputs from params named <node>.<input>, and refuses other names', () => {
    expect(applyGraphParams(graph, { '3.steps': 4, '3.cfg': 1.5 })['3'].inputs).toMatchObject({ steps: 4, cfg: 1.5 });
    expect(refusal(() => applyGraphParams(graph, { steps: 4 })).type).toBe('InvalidRequest');
    expect(refusal(() => applyGraphParams(graph, { '3.stepz': 4 })).type).toBe('InvalidRequest');
  });

  it('draws "any seed" from the idempotency key, so a retried submit sends the same graph', () => {
    const a = buildComfyGraph({ prompt: 'p', seed: -1 }, DEFAULT_COMFY_WORKFLOW, 123);
    expect(a['3'].inputs.seed).toBe(123);
    expect(buildComfyGraph({ prompt: 'p', seed: 5 }, DEFAULT_COMFY_WORKFLOW, 123)['3'].inputs.seed).toBe(5);
    // A graph without a seed input is fine when the item chose none.
    const noSeed = { graph, mapping: { prompt: mapping.prompt } };
    expect(buildComfyGraph({ prompt: 'p' }, noSeed, 123)['3'].inputs.seed).toBe(0);
  });

  it('derives a lowercase UUID prompt_id from the key, the same each time', () => {
    const id = comfyPromptId('batch-1/run/submit-3');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(comfyPromptId('batch-1/run/submit-3')).toBe(id);
    expect(comfyPromptId('batch-1/run/submit-4')).not.toBe(id);
  });
});

// Items and their providers: provider lists, each provider's reserved params, an item's ComfyUI workflow file
// (resolved, read and checked before anything starts), and `run` refusing an item whose provider it cannot serve.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ItemsFileError, readItemsFile } from '../../src/items/reader';
import { itemRuleProblems } from '../../src/items/rules';
import { planProviders } from '../../src/client/provider-plan';
import { DEFAULT_COMFY_WORKFLOW } from '../../src/providers/comfyui/default-graph';
import { parseComfyWorkflow, readComfyWorkflowFile } from '../../src/providers/comfyui/workflow-file';
import { providerOrder } from '../../src/shared/providers';
import type { ImageItem, ProviderKind } from '../../src/shared/types';

const item = (o: Partial<ImageItem>): ImageItem => ({ id: '1', prompt: 'a cat', ...o });
const fields = (o: Partial<ImageItem>, provider: ProviderKind = 'volcengine') =>
  itemRuleProblems(item(o), { provider }).map((p) => p.field);
/** The batch's providers as the plan hands them down (`start` needs no keys here). */
const batchOf = (choice: string) => planProviders(choice, 'start', {}).batch;

let dir: string;
let outside: string;
beforeAll(() => {
  outside = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ib-elsewhere-')), 'outside.json');
  fs.writeFileSync(outside, JSON.stringify(DEFAULT_COMFY_WORKFLOW));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-items-prov-'));
  fs.writeFileSync(path.join(dir, 'graph.json'), JSON.stringify(DEFAULT_COMFY_WORKFLOW));
  const { negativePrompt: _n, width: _w, height: _h, ...few } = DEFAULT_COMFY_WORKFLOW.mapping;
  fs.writeFileSync(path.join(dir, 'few.json'), JSON.stringify({ ...DEFAULT_COMFY_WORKFLOW, mapping: few }));
  fs.writeFileSync(path.join(dir, 'broken.json'), '{"graph": {');
  fs.writeFileSync(
    path.join(dir, 'wrong-node.json'),
    JSON.stringify({ ...DEFAULT_COMFY_WORKFLOW, mapping: { prompt: { node: '99', input: 'text' } } }),
  );
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(path.dirname(outside), { recursive: true, force: true });
});

/** Writes the lines as an items file in the test folder and reads it; the problems, or the items. */
function read(lines: object[], o: Parameters<typeof readItemsFile>[1] = {}, name = 'items.jsonl') {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  try {
    return { items: readItemsFile(file, o).items, problems: [] as string[] };
  } catch (err) {
    if (!(err instanceof ItemsFileError)) throw err;
    return { items: [], problems: err.problems.map((p) => p.slice(file.length + 1)) };
  }
}

describe('provider lists', () => {
  it("an item's own list wins over the batch's, which wins over the default", () => {
    expect(providerOrder(['fal', 'openai'], batchOf('dashscope'))).toEqual(['fal', 'openai']);
    expect(providerOrder('comfyui', batchOf('fal,dashscope'))).toEqual(['comfyui']);
    expect(providerOrder(undefined, batchOf('fal,dashscope'))).toEqual(['fal', 'dashscope']);
    expect(providerOrder(undefined, batchOf('simulator'))).toEqual(['volcengine']);
  });

  it('the schema takes a list and refuses an empty one or a repeat', () => {
    expect(read([{ prompt: 'x', provider: ['fal', 'dashscope'] }]).problems).toEqual([]);
    expect(read([{ prompt: 'x', provider: [] }]).problems).toEqual([
      expect.stringMatching(/^1: provider: .*at least one provider/),
    ]);
    expect(read([{ prompt: 'x', provider: ['fal', 'fal'] }]).problems).toEqual([
      expect.stringMatching(/^1: provider: must not name a provider twice/),
    ]);
  });
});

describe('reserved params of the new providers', () => {
  it.each(['prompt', 'num_images', 'image_size', 'seed', 'sync_mode'])('fal %s is refused', (key) => {
    expect(fields({ params: { [key]: 1 } }, 'fal')).toEqual([`params.${key}`]);
  });

  it.each(['model', 'prompt', 'n'])('openai %s is refused, size is not', (key) => {
    expect(fields({ params: { [key]: 1, size: 'auto' } }, 'openai')).toEqual([`params.${key}`]);
  });

  it('checks the reserved keys of every provider of the list, naming the one that reserves it', () => {
    const problems = itemRuleProblems(
      item({ provider: ['openai', 'fal'], params: { num_images: 2, quality: 'high' } }),
      batchOf('volcengine'),
    );
    expect(problems).toEqual([
      { field: 'params.num_images', message: expect.stringMatching(/set by imagebatch for fal.*one image per task/) },
    ]);
  });

  it('comfyui: params naming an input the mapping fills are refused, other node inputs pass, bad names fail', () => {
    const { problems } = read([
      { prompt: 'x', provider: 'comfyui', params: { '3.steps': 30, '6.text': 'other', steps: 4, '99.x': 1 } },
    ]);
    expect(problems).toEqual([
      expect.stringMatching(/^1: params\.6\.text: is set by imagebatch for comfyui: use the item's prompt/),
      expect.stringMatching(/^1: params\.steps: ComfyUI params: 'steps' is not <node id>\.<input name>/),
      expect.stringMatching(/^1: params\.99\.x: .*names node "99", which the graph lacks/),
    ]);
  });
});

describe('an item workflow file', () => {
  it('is resolved against the items file to an absolute path, and read now', () => {
    const { items, problems } = read([{ prompt: 'x', provider: 'comfyui', workflow: 'graph.json' }]);
    expect(problems).toEqual([]);
    expect(items[0].workflow).toBe(fs.realpathSync(path.join(dir, 'graph.json')));
  });

  it('is refused with line and field when missing, not JSON, naming what the graph lacks, or outside the folder', () => {
    const { problems } = read([
      { prompt: 'a', provider: 'comfyui', workflow: 'missing.json' },
      { prompt: 'b', provider: 'comfyui', workflow: 'broken.json' },
      { prompt: 'c', provider: 'comfyui', workflow: 'wrong-node.json' },
      { prompt: 'd', provider: 'comfyui', workflow: outside },
    ]);
    expect(problems).toEqual([
      expect.stringMatching(/^1: workflow: cannot read 'missing\.json': ENOENT/),
      expect.stringMatching(/^2: workflow: ComfyUI workflow .*broken\.json: is not JSON/),
      expect.stringMatching(/^3: workflow: ComfyUI workflow .*wrong-node\.json: .*node "99"/),
      expect.stringMatching(/^4: workflow: '.*outside\.json' is outside the items file's folder and --refs-dir/),
    ]);
  });

  it('is only for items that may go to ComfyUI', () => {
    expect(read([{ prompt: 'x', provider: 'fal', workflow: 'graph.json' }]).problems).toEqual([
      '1: workflow: is a ComfyUI graph, and this item goes to fal',
    ]);
    expect(read([{ prompt: 'x', provider: ['fal', 'comfyui'], workflow: 'graph.json' }]).problems).toEqual([]);
    expect(read([{ prompt: 'x', workflow: 'graph.json' }], { batch: batchOf('comfyui') }).problems).toEqual([]);
  });

  it('refuses item fields its mapping has no input for', () => {
    const { problems } = read([
      { prompt: 'x', provider: 'comfyui', workflow: 'few.json', negativePrompt: 'blur', width: 64, height: 64 },
    ]);
    expect(problems.map((p) => p.split(':')[1].trim())).toEqual(['negativePrompt', 'width', 'height']);
  });

  it('the loader checks the shape: graph, mapping with a prompt, known fields, node inputs', () => {
    expect(() => parseComfyWorkflow({ graph: {} })).toThrow(/expected \{"graph"/);
    expect(() => parseComfyWorkflow({ ...DEFAULT_COMFY_WORKFLOW, mapping: {} })).toThrow(/mapping\.prompt is required/);
    expect(() =>
      parseComfyWorkflow({ ...DEFAULT_COMFY_WORKFLOW, mapping: { prompt: { node: '6', input: 'text' }, steps: {} } }),
    ).toThrow(/mapping\.steps: not one of/);
    expect(() =>
      parseComfyWorkflow({ graph: { '1': { inputs: {} } }, mapping: { prompt: { node: '1', input: 'x' } } }),
    ).toThrow(/API format/);
    expect(readComfyWorkflowFile(path.join(dir, 'graph.json'))).toEqual(DEFAULT_COMFY_WORKFLOW);
    expect(() => readComfyWorkflowFile(dir)).toThrow(/is not a regular file/);
  });
});

describe('run refuses an item whose provider this process cannot serve', () => {
  it('naming the line and the variables', () => {
    const { problems } = read(
      [{ prompt: 'a' }, { prompt: 'b', provider: ['dashscope', 'openai'] }, { prompt: 'c', provider: 'dashscope' }],
      { served: ['dashscope'] },
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /^2: provider: openai: OPENAI_API_KEY not set here, and run works the batch in this process/,
      ),
    ]);
  });
});

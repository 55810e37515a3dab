// The ComfyUI client against the simulator over loopback: the graph it sends, idempotent submits, status through
// history and queue, images through /view, cancel by delete and interrupt.
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { ComfyuiClient, comfyPromptId } from '../../src/providers/comfyui/client';
import { COMFYUI_DEFAULT_CHECKPOINT, DEFAULT_COMFY_WORKFLOW } from '../../src/providers/comfyui/default-graph';
import { errorOf, pngOf, sha256, useSimulator } from './simulator-fixture';

const sim = useSimulator();
const comfy = () => new ComfyuiClient({ baseUrl: sim().url, timeoutMs: 2000 });

describe('comfyui client', () => {
  it('queues the default graph with the item in it, then fetches a real PNG through /view', async () => {
    sim().setKnobs({ latencyMs: 60_000, queueShare: 1 });
    const c = comfy();
    const waiting = await c.submit({ prompt: 'a red fox', width: 512, height: 768, seed: 7 });
    expect(waiting.model).toBe(COMFYUI_DEFAULT_CHECKPOINT);
    expect(await c.status(waiting)).toEqual({ state: 'pending' });

    sim().setKnobs({ latencyMs: 0 });
    const task = await c.submit({ prompt: 'a red fox', width: 512, height: 768, seed: 7, model: 'sdxl.safetensors' });
    expect(task.model).toBe('sdxl.safetensors');
    const st = await c.status(task);
    if (st.state !== 'done') throw new Error(`not done: ${st.state}`);
    expect('url' in st.images[0] && st.images[0].url).toContain('/view?filename=');
    // The simulator read prompt, seed and size out of the graph by following its links.
    const bytes = await pngOf(st.images[0], [64, 96]);
    const stats = sim().stats();
    expect(sha256(bytes)).toBe(stats.served[task.taskId]);
    expect(stats.seedsByPrompt['a red fox']).toEqual([7, 7]);
    expect(stats.byProvider.comfyui.submissions).toBe(2);
  });

  it('a submit repeated with the same idempotency key finds the job instead of queueing it twice', async () => {
    sim().setKnobs({ latencyMs: 60_000, queueShare: 1 });
    const c = comfy();
    const first = await c.submit({ prompt: 'once' }, undefined, { idempotencyKey: 'batch-1/run/7' });
    expect(first.taskId).toBe(comfyPromptId('batch-1/run/7'));
    // Queued, then running, then finished: each time the look finds it.
    const again = await comfy().submit({ prompt: 'once' }, undefined, { idempotencyKey: 'batch-1/run/7' });
    expect(again).toEqual(first);
    sim().setKnobs({ queueShare: 0 });
    await comfy().submit({ prompt: 'running' }, undefined, { idempotencyKey: 'k2' });
    await comfy().submit({ prompt: 'running' }, undefined, { idempotencyKey: 'k2' });
    sim().setKnobs({ latencyMs: 0 });
    const done = await comfy().submit({ prompt: 'done' }, undefined, { idempotencyKey: 'k3' });
    expect((await c.status(done)).state).toBe('done');
    await comfy().submit({ prompt: 'done' }, undefined, { idempotencyKey: 'k3' });
    const stats = sim().stats();
    expect(stats.submissionsByPrompt).toEqual({ once: 1, running: 1, done: 1 });
    expect(stats.byProvider.comfyui.submissions).toBe(3);
  });

  it('the look is what prevents the second job: ComfyUI itself runs a repeated prompt_id again', async () => {
    const graph = structuredClone(DEFAULT_COMFY_WORKFLOW.graph);
    graph['6'].inputs.text = 'twice';
    const body = JSON.stringify({ prompt: graph, client_id: 'c', prompt_id: comfyPromptId('raw') });
    const post = () => request(`${sim().url}/prompt`, { method: 'POST', body });
    expect((await post()).statusCode).toBe(200);
    expect((await post()).statusCode).toBe(200);
    expect(sim().stats().submissionsByPrompt.twice).toBe(2);
  });

  it('an item graph with its own mapping: fields land where the mapping says, params set inputs', async () => {
    const graph = structuredClone(DEFAULT_COMFY_WORKFLOW.graph);
    // Another numbering, as an exported graph has.
    const workflow = {
      graph: Object.fromEntries(Object.entries(graph).map(([id, n]) => [`1${id}`, renumber(n)])),
      mapping: {
        prompt: { node: '16', input: 'text' },
        seed: [{ node: '13', input: 'seed' }],
        width: { node: '15', input: 'width' },
        height: { node: '15', input: 'height' },
      },
    };
    const c = comfy();
    const task = await c.submit(
      { prompt: 'mapped', seed: 11, width: 256, height: 512, params: { '13.steps': 4 } },
      undefined,
      {
        workflow,
      },
    );
    const st = await c.status(task);
    if (st.state !== 'done') throw new Error(`not done: ${st.state}`);
    await pngOf(st.images[0], [32, 64]);
    expect(sim().stats().seedsByPrompt.mapped).toEqual([11]);
    // This mapping has no negative prompt: asking for one is refused before anything is sent.
    const err = await errorOf(c.submit({ prompt: 'x', negativePrompt: 'blur' }, undefined, { workflow }));
    expect(err.type).toBe('InvalidRequest');
    expect(sim().stats().byProvider.comfyui.submissions).toBe(1);
  });

  it('classifies a graph ComfyUI refuses (400 with node_errors) as InvalidRequest', async () => {
    const graph = structuredClone(DEFAULT_COMFY_WORKFLOW.graph);
    delete graph['9'];
    const err = await errorOf(
      comfy().submit({ prompt: 'x' }, undefined, { workflow: { ...DEFAULT_COMFY_WORKFLOW, graph } }),
    );
    expect(err).toMatchObject({ type: 'InvalidRequest', details: { code: 'prompt_no_outputs', httpStatus: 400 } });
    expect(sim().stats().byProvider.comfyui.refusedSubmissions).toBe(1);
  });

  it('classifies an error in the history as TaskFailed, with the node and the exception', async () => {
    const c = comfy();
    const task = await c.submit({ prompt: 'too big', width: 8192, height: 4096 });
    const st = await c.status(task);
    expect(st.state === 'failed' && st.error.type).toBe('TaskFailed');
    expect(st.state === 'failed' && st.error.message).toMatch(/KSampler \(node 3\).*OutOfMemoryError/);
  });

  it('classifies a job that is in neither the queue nor the history (a restart) as TaskGone', async () => {
    sim().setKnobs({ expire: 1 });
    const c = comfy();
    expect((await errorOf(c.status(await c.submit({ prompt: 'x' })))).type).toBe('TaskGone');
  });

  it('runs prompts over the concurrency limit later instead of refusing them', async () => {
    sim().setKnobs({ latencyMs: 60_000, queueShare: 0, concurrencyLimit: 1 });
    const c = comfy();
    const first = await c.submit({ prompt: 'a' });
    const second = await c.submit({ prompt: 'b' });
    expect((await c.status(first)).state).toBe('running');
    expect((await c.status(second)).state).toBe('pending');
  });

  it('has no moderation: the moderation words make an image like any prompt', async () => {
    const c = comfy();
    expect((await c.status(await c.submit({ prompt: 'a gore scene' }))).state).toBe('done');
  });

  it('classifies 429 (from a proxy) as RateLimited with its retry-after, and 5xx as Transient', async () => {
    sim().setKnobs({ fail429: 1 });
    const limited = await errorOf(comfy().submit({ prompt: 'x' }));
    expect(limited).toMatchObject({ type: 'RateLimited', details: { retryAfterMs: 1000 } });
    sim().setKnobs({ fail429: 0, fail5xx: 1 });
    expect((await errorOf(comfy().submit({ prompt: 'x' }))).type).toBe('Transient');
  });

  it('cancels a queued prompt by deleting it, and a running one by interrupting it', async () => {
    sim().setKnobs({ latencyMs: 60_000, queueShare: 1 });
    const c = comfy();
    const queued = await c.submit({ prompt: 'queued' });
    await c.cancel(queued);
    sim().setKnobs({ queueShare: 0 });
    const running = await c.submit({ prompt: 'running' });
    await c.cancel(running);
    const stats = sim().stats();
    expect(stats.cancelledTaskIds).toEqual([queued.taskId, running.taskId]);
    expect(stats.byProvider.comfyui.requestsByOutcome.interrupted).toBe(1);
    expect((await errorOf(c.status(queued))).type).toBe('TaskGone');
    // Nothing left to cancel: harmless.
    await c.cancel(running);
  });
});

/** The node with its links moved to the `1<id>` numbering. */
function renumber<T extends { inputs: Record<string, unknown> }>(node: T): T {
  const inputs = Object.fromEntries(
    Object.entries(node.inputs).map(([k, v]) => [k, Array.isArray(v) ? [`1${v[0]}`, v[1]] : v]),
  );
  return { ...node, inputs };
}

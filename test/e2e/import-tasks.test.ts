// `imagebatch import-tasks`: the old Volcengine tool's async_tasks folder, with tasks made at the simulator beforehand
// by the project's own Volcengine client (done, still running, expired), collected without a single new submit; the
// images where the task files say, their statuses written; a second run does nothing; --resubmit pays once for the
// expired one; a malformed file starts nothing; a kill of the importing process (its worker) loses nothing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { providersFromEnv, taskClient } from '../../src/providers';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { readPngMetadata } from '../../src/output/png-metadata';
import { PNG } from '../helpers/items-fixture';
import { cliEnv, runCli, spawnCli } from '../helpers/cli';
import { closeConnections } from '../helpers/temporal';
import { waitFor } from '../helpers/image-env';
import { knobsFrom } from '../helpers/simulator-knobs';

let sim: ProviderSimulator;
let work: string;
let tasks: string;
const BASE_KNOBS = { latencyMs: 100 };
const fast = ['--poll-interval', '0.2', '--max-wait', '60', '--out', 'out'];

beforeAll(async () => {
  sim = await startSimulator(BASE_KNOBS);
});
beforeEach(() => {
  sim.setKnobs(knobsFrom(BASE_KNOBS));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-import-'));
  tasks = path.join(work, 'async_tasks');
  fs.mkdirSync(tasks);
});
afterAll(async () => {
  await sim.close();
  await closeConnections();
});

const env = () => cliEnv({ ...sim.env(), IMAGEBATCH_LOG_LEVEL: 'WARN' });
const volcengine = () => taskClient(providersFromEnv(sim.env()), 'volcengine');
const importTasks = (args: string[] = []) =>
  runCli(['import-tasks', 'async_tasks', ...fast, ...args], { env: env(), cwd: work });

/** A task submitted at the provider, as the old tool did: its id. */
async function submitted(prompt: string, knobs: Parameters<ProviderSimulator['setKnobs']>[0] = {}): Promise<string> {
  sim.setKnobs(knobs);
  const task = await volcengine().submit({ prompt });
  sim.setKnobs(knobsFrom(BASE_KNOBS));
  return task.taskId;
}

/** Waits until the provider has ended the task (made its image, or expired it: the status then throws TaskGone). */
async function finished(taskId: string): Promise<void> {
  const state = () =>
    volcengine()
      .status({ taskId, model: 'jimeng_t2i_v40' })
      .then(
        (s) => s.state,
        () => 'gone',
      );
  await waitFor(async () => !['pending', 'running'].includes(await state()), taskId);
}

/** The old tool's task file for a task. */
function taskFile(name: string, taskId: string, prompt: string, more: Record<string, unknown> = {}): string {
  const file = path.join(tasks, name);
  const fields = {
    task_id: taskId,
    output_path: `images/${name.replace(/\.\w+$/, '')}.jpeg`,
    filename: `${name.replace(/\.\w+$/, '')}.jpeg`,
    prompt,
    full_prompt: prompt,
    character_images: [],
    style: 'ink',
    submit_time: 1733600000.25,
    status: 'submitted',
    ...more,
  };
  fs.writeFileSync(file, JSON.stringify(fields, null, 2));
  return file;
}
const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;

describe('imagebatch import-tasks', () => {
  it('collects the tasks the old tool paid for where its files say, fails the expired one, submits nothing; then does nothing', async () => {
    const done = await submitted('a quiet harbour at dawn');
    await finished(done);
    const running = await submitted('a lighthouse in fog', { latencyMs: 3000 });
    const expired = await submitted('a ship in a storm', { expireFirst: 1 });
    const status = (await volcengine().status({ taskId: running, model: 'jimeng_t2i_v40' })).state;
    expect(['pending', 'running']).toContain(status);
    const a = taskFile('a.json', done, 'a quiet harbour at dawn');
    const b = taskFile('b.txt', running, 'a lighthouse in fog', {
      status: 'processing',
      output_path: 'chapter_1/images',
      filename: 'scene_02.png',
    });
    const c = taskFile('c.json', expired, 'a ship in a storm');
    const d = taskFile('d.json', 'finished-long-ago', 'old', { status: 'completed', completed_time: 1733600100 });
    const untouched = fs.readFileSync(d, 'utf8');
    const before = sim.stats().submissions;

    const r = await importTasks();
    expect(r.code, r.stderr).toBe(1);
    expect(sim.stats().submissions).toBe(before);
    expect(r.stderr).toMatch(/3 task\(s\) to collect from async_tasks \(1 ended already\)/);
    expect(r.stderr).toMatch(/task files: 2 completed, 1 failed/);

    // The simulator's images are PNGs: the extension follows the bytes (a.jpeg asked, a.png stored).
    const ra = read(a);
    expect(ra).toMatchObject({ status: 'completed', task_id: done, style: 'ink', submit_time: 1733600000.25 });
    expect(ra.image_path).toBe(path.join(work, 'images', 'a.png'));
    expect(typeof ra.completed_time).toBe('number');
    const rb = read(b);
    expect(rb).toMatchObject({ status: 'completed', image_path: path.join(work, 'chapter_1/images/scene_02.png') });
    for (const image of [ra.image_path, rb.image_path] as string[]) {
      expect(readPngMetadata(fs.readFileSync(image)).imagebatch).toMatchObject({
        batchId: expect.stringMatching(/^import-/),
      });
    }
    expect(read(c)).toMatchObject({ status: 'failed', error_msg: expect.stringMatching(/expired[\s\S]*--resubmit/) });
    expect(read(c).image_path).toBeUndefined();
    expect(fs.readFileSync(d, 'utf8')).toBe(untouched);
    // The batch's own files are under --out, not beside the images.
    const batches = fs.readdirSync(path.join(work, 'out'));
    expect(batches).toHaveLength(1);
    expect(fs.existsSync(path.join(work, 'out', batches[0], 'manifest.json'))).toBe(true);

    const again = await importTasks();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/nothing to import: 4 task file\(s\) in async_tasks, all completed or failed already/);
    expect(read(a)).toEqual(ra);
    expect(sim.stats().submissions).toBe(before);
  });

  it('--resubmit pays once for the task the provider no longer knows, and for nothing else', async () => {
    const done = await submitted('a red kite over hills');
    const expired = await submitted('a fox in the snow', { expireFirst: 1 });
    await finished(done);
    await finished(expired);
    fs.writeFileSync(path.join(work, 'hero.png'), PNG);
    const a = taskFile('a.json', done, 'a red kite over hills');
    const c = taskFile('c.json', expired, 'a fox in the snow', { character_images: ['hero.png'] });
    const before = sim.stats();

    const r = await importTasks(['--resubmit']);
    expect(r.code, r.stderr).toBe(0);
    const after = sim.stats();
    expect(after.submissions - before.submissions).toBe(1);
    expect(after.submissionsByPrompt['a fox in the snow']).toBe(
      (before.submissionsByPrompt['a fox in the snow'] ?? 0) + 1,
    );
    expect(read(a)).toMatchObject({ status: 'completed' });
    expect(read(c)).toMatchObject({ status: 'completed', image_path: path.join(work, 'images', 'c.png') });
  });

  it('a malformed task file is exit 2 naming the file and the field, and nothing starts', async () => {
    taskFile('good.json', 'some-task', 'a tree');
    const bad = taskFile('bad.json', 'other-task', 'a river', { output_path: 42 });
    const before = sim.stats();
    const r = await importTasks();
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${bad}: output_path: must be a path`);
    expect(r.stderr).toMatch(/nothing was started/);
    expect(fs.existsSync(path.join(work, 'out'))).toBe(false);
    expect(sim.stats().requestsByOutcome).toEqual(before.requestsByOutcome);
  });

  it('a kill of the importing process (its worker) mid-import loses nothing: the next run finishes the same batch', async () => {
    const ids: string[] = [];
    for (const k of [1, 2, 3, 4]) ids.push(await submitted(`a mountain road, view ${k}`, { latencyMs: 4000 }));
    const files = ids.map((id, k) => taskFile(`t${k + 1}.json`, id, `a mountain road, view ${k + 1}`));
    const before = sim.stats().submissions;

    const first = spawnCli(['import-tasks', 'async_tasks', ...fast], { env: env(), cwd: work });
    await waitFor(() => /Batch import-\w+ started/.test(first.output.stderr) || first.exitCode !== null, 'the import');
    expect(first.exitCode, first.output.stderr).toBeNull();
    first.kill('SIGKILL');
    await first.done;
    for (const f of files) expect(read(f).status).toBe('submitted');

    const second = await importTasks();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/is still running: working and following it here/);
    expect(second.stderr).toMatch(/task files: 4 completed/);
    for (const f of files) expect(read(f)).toMatchObject({ status: 'completed' });
    expect(sim.stats().submissions).toBe(before);

    // A kill after the batch ended but before the files were written: the next run takes the ends from its manifest.
    for (const f of files) fs.writeFileSync(f, JSON.stringify({ ...read(f), status: 'processing' }));
    const third = await importTasks();
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toMatch(/imported these tasks already; writing their ends into the task files/);
    for (const f of files) expect(read(f)).toMatchObject({ status: 'completed' });
    expect(sim.stats().submissions).toBe(before);
  });
});

// The old tool's task files (no server): which become items and how, every problem named by file and field, and
// the status written back with every other field kept, never through a link.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readTaskFolder, settleTaskFile } from '../../src/items/task-files';
import { ItemsFileError } from '../../src/items/errors';
import { PNG } from '../helpers/items-fixture';

let work: string;
let tasks: string;
const model = 'jimeng_t2i_v40';

function task(name: string, fields: Record<string, unknown>): string {
  const file = path.join(tasks, name);
  fs.writeFileSync(file, JSON.stringify(fields, null, 2));
  return file;
}
const old = (taskId: string, more: Record<string, unknown> = {}) => ({
  task_id: taskId,
  output_path: `images/${taskId}.jpeg`,
  filename: `${taskId}.jpeg`,
  prompt: 'a cat',
  full_prompt: 'a cat, watercolour',
  character_images: [],
  style: 'watercolour',
  submit_time: 1733600000.5,
  status: 'submitted',
  ...more,
});
const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ItemsFileError) return err.problems;
    throw err;
  }
  return [];
};

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-tasks-'));
  tasks = path.join(work, 'async_tasks');
  fs.mkdirSync(tasks);
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

describe('reading the old tool’s task folder', () => {
  it('makes an item of each task not ended, collecting it into output_path resolved against the folder of DIR', () => {
    task('t1.json', old('t1'));
    task('t2.txt', old('t2', { status: 'processing', output_path: 'out/ch1', filename: 'scene.png' }));
    task('t3.json', old('t3', { status: 'completed' }));
    task('t4.json', old('t4', { status: 'failed' }));
    fs.writeFileSync(path.join(tasks, 'notes.md'), 'not a task');
    const { pending, ended } = readTaskFolder(tasks, { model });
    expect(ended).toBe(2);
    expect(pending.map((p) => p.taskId)).toEqual(['t1', 't2']);
    expect(pending[0]).toMatchObject({
      file: path.join(tasks, 't1.json'),
      item: {
        id: 't1',
        model,
        filename: 't1.jpeg',
        adopt: { taskId: 't1', outDir: path.join(work, 'images') },
      },
    });
    expect(pending[0].item.adopt.resubmit).toBeUndefined();
    expect(pending[0].item.referenceImages).toBeUndefined();
    expect(pending[1].item).toMatchObject({ filename: 'scene.png', adopt: { outDir: path.join(work, 'out/ch1') } });
  });

  it("takes the task's own req_key over --model, and makes safe item ids of any task id", () => {
    task('a.json', old('7392:61/x', { req_key: 'jimeng_high_aes_general_v21_L' }));
    const [p] = readTaskFolder(tasks, { model }).pending;
    expect(p.item.model).toBe('jimeng_high_aes_general_v21_L');
    expect(p.item.id).toBe('7392_61_x');
    expect(p.item.adopt.taskId).toBe('7392:61/x');
  });

  it('with --resubmit, sends full_prompt and the character images (inside the folder rules) as references', () => {
    fs.writeFileSync(path.join(work, 'hero.png'), PNG);
    task('t1.json', old('t1', { character_images: ['hero.png'] }));
    const [p] = readTaskFolder(tasks, { model, resubmit: true }).pending;
    expect(p.item).toMatchObject({
      prompt: 'a cat, watercolour',
      referenceImages: [fs.realpathSync(path.join(work, 'hero.png'))],
      adopt: { resubmit: true },
    });
  });

  it('names the file and the field of every problem, and reads nothing but the task files', () => {
    const bad = task('bad.json', old('b', { status: 'queued' }));
    const noId = task('noid.json', old('x', { task_id: 42 }));
    const noName = task('noname.json', old('n', { output_path: 'images', filename: '../x.png' }));
    const twin = task('twin.json', old('b2'));
    task('twin2.json', old('b2'));
    const broken = path.join(tasks, 'broken.txt');
    fs.writeFileSync(broken, '{"task_id": ');
    const outside = task('outside.json', old('o', { character_images: ['/etc/passwd'] }));
    const problems = problemsOf(() => readTaskFolder(tasks, { model, resubmit: true }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${bad}: status: must be one of`)),
        expect.stringMatching(new RegExp(`^${noId}: task_id: `)),
        expect.stringMatching(new RegExp(`^${noName}: filename: must be a plain file name`)),
        expect.stringMatching(new RegExp(`^${path.join(tasks, 'twin2.json')}: task_id: 'b2' is the task of ${twin}`)),
        expect.stringMatching(new RegExp(`^${broken}: not a JSON task file`)),
        expect.stringMatching(new RegExp(`^${outside}: character_images\\.0: `)),
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  it('checks the character images only when they would be sent (--resubmit)', () => {
    task('t.json', old('t', { character_images: ['/etc/passwd'] }));
    expect(readTaskFolder(tasks, { model }).pending).toHaveLength(1);
  });

  it('refuses a DIR that is not a folder', () => {
    expect(() => readTaskFolder(path.join(work, 'nope'), { model })).toThrow(/no such folder/);
  });
});

describe('writing a task’s end back', () => {
  it('sets status and what the old checker adds, keeps every other field, and leaves an ended file alone', () => {
    const file = task('t1.json', old('t1', { attempt: 2 }));
    expect(settleTaskFile(file, { status: 'completed', imagePath: '/x/t1.png' }, 'imp-1', 1_733_600_100_000)).toBe(
      true,
    );
    const written = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(written).toEqual({
      ...old('t1', { attempt: 2 }),
      status: 'completed',
      completed_time: 1_733_600_100,
      image_path: '/x/t1.png',
      imagebatch_batch: 'imp-1',
    });
    expect(settleTaskFile(file, { status: 'failed', error: 'gone' }, 'imp-2')).toBe(false);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(written);
    const failed = task('t2.json', old('t2'));
    settleTaskFile(failed, { status: 'failed', error: 'task t2 is not_found' }, 'imp-1');
    expect(JSON.parse(fs.readFileSync(failed, 'utf8'))).toMatchObject({
      status: 'failed',
      error_msg: 'task t2 is not_found',
    });
  });

  it('never reads or writes through a link standing at the task file', () => {
    const target = path.join(work, 'elsewhere.json');
    fs.writeFileSync(target, JSON.stringify(old('t1')));
    const link = path.join(tasks, 't1.json');
    fs.symlinkSync(target, link);
    // A link is not a task file: it is not read either.
    expect(() => settleTaskFile(link, { status: 'failed', error: 'x' }, 'b')).toThrow(/not a regular file/);
    expect(JSON.parse(fs.readFileSync(target, 'utf8')).status).toBe('submitted');
  });
});

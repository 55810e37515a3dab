// The old Volcengine tool's task files (`async_tasks/<task_id>.json` or `.txt`, one JSON object each), read as items
// of an `import-tasks` batch, and written back as its checker would once a task has ended. Every field of a file is
// kept; only `status` and what the checker adds (`completed_time`, `image_path`, `failed_time`, `error_msg`) change.
// Every problem of every file is reported, naming the file and the field, before anything starts.
import fs from 'node:fs';
import path from 'node:path';
import { IMAGE_EXT, SAFE_NAME } from '../shared/item-schema';
import type { AdoptedTask, ImageItem } from '../shared/types';
import { UsageError } from '../shared/usage-error';
import { replaceFile } from '../storage/safe-write';
import { ItemsFileError, stripControls } from './errors';
import { checkReference, referenceRoots, type RefRoots } from './references';

const STATUSES = ['submitted', 'processing', 'completed', 'failed'];
const ENDED = ['completed', 'failed'];
const MAX_PROMPT = 4000;
const MAX_REFERENCES = 10;

/** A task the old tool submitted that has not ended: the item that collects it, and its file. */
export interface PendingTask {
  file: string;
  taskId: string;
  item: ImageItem & { adopt: AdoptedTask };
}

export interface TaskFolder {
  pending: PendingTask[];
  /** Task files already completed or failed: never touched. */
  ended: number;
}

export interface TaskFileOptions {
  /** The request key the old tool used, for tasks whose file names none (`req_key`). */
  model: string;
  /** A task the provider no longer knows is generated again from `full_prompt` and `character_images`. */
  resubmit?: boolean;
  /** A folder reference images may come from besides the one that holds DIR. */
  refsDir?: string;
}

/** The task files of DIR: `*.json` and `*.txt`, by name. */
function taskFileNames(dir: string): string[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UsageError(`${stripControls(dir)}: no such folder`);
  }
  if (!st.isDirectory()) throw new UsageError(`${stripControls(dir)}: not a folder (give the old tool's async_tasks)`);
  return fs
    .readdirSync(dir)
    .filter((n) => /\.(json|txt)$/i.test(n))
    .sort();
}

/** An item id from the task id: safe characters only (ids name workflows and files). */
function itemIdOf(taskId: string, used: Set<string>): string {
  const base = taskId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120) || 'task';
  let id = SAFE_NAME.test(base) ? base : `task_${base}`;
  for (let k = 2; used.has(id); k++) id = `${base}_${k}`;
  used.add(id);
  return id;
}

const isPlainName = (name: string) =>
  name === path.basename(name) && name !== '.' && name !== '..' && !/[\\/]/.test(name);

/** Where the image goes: `output_path` itself when it names an image file, else that folder with `filename`. */
function target(data: Record<string, unknown>, base: string, problem: (field: string, message: string) => void) {
  const out = data.output_path;
  if (typeof out !== 'string' || !out.trim()) return problem('output_path', 'must be a path (a string)');
  const resolved = path.resolve(base, out);
  if (IMAGE_EXT.test(out)) return { outDir: path.dirname(resolved), filename: path.basename(resolved) };
  const name = data.filename;
  if (typeof name !== 'string' || !isPlainName(name) || !IMAGE_EXT.test(name))
    return problem(
      'filename',
      'must be a plain file name ending in .png, .jpg, .jpeg or .webp (output_path is a folder)',
    );
  return { outDir: resolved, filename: name };
}

/** What `--resubmit` would send: the full prompt and the character images as references. */
function request(
  data: Record<string, unknown>,
  o: TaskFileOptions,
  roots: RefRoots,
  problem: (f: string, m: string) => void,
) {
  const field = typeof data.full_prompt === 'string' && data.full_prompt.trim() ? 'full_prompt' : 'prompt';
  const text = typeof data[field] === 'string' ? (data[field] as string).trim() : '';
  if (!o.resubmit) return { prompt: (text || `(task ${String(data.task_id)})`).slice(0, MAX_PROMPT) };
  if (!text) return problem('full_prompt', 'must be the prompt to generate the image again with (--resubmit)');
  if (text.length > MAX_PROMPT) return problem(field, `is over ${MAX_PROMPT} characters`);
  const refs = data.character_images ?? [];
  if (!Array.isArray(refs) || refs.some((r) => typeof r !== 'string' || !r))
    return problem('character_images', 'must be a list of image paths');
  if (refs.length > MAX_REFERENCES) return problem('character_images', `must name at most ${MAX_REFERENCES} images`);
  const referenceImages: string[] = [];
  for (const [k, ref] of (refs as string[]).entries()) {
    const checked = checkReference(ref, roots);
    if ('problem' in checked) problem(`character_images.${k}`, checked.problem);
    else referenceImages.push(checked.ref);
  }
  return { prompt: text, ...(referenceImages.length ? { referenceImages } : {}) };
}

function readJson(file: string): unknown {
  const st = fs.lstatSync(file);
  if (!st.isFile()) throw new Error('not a regular file');
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/**
 * The pending tasks of the old tool's task folder, each as the item that collects its task into its `output_path`
 * (relative paths resolved against the folder that holds DIR, where the old tool ran). Throws ItemsFileError with
 * every problem, `file: field: message`; UsageError when DIR is not a folder.
 */
export function readTaskFolder(dir: string, o: TaskFileOptions): TaskFolder {
  const base = path.dirname(path.resolve(dir));
  const roots = referenceRoots(path.resolve(dir), o.refsDir);
  const problems: string[] = [];
  const pending: PendingTask[] = [];
  const ids = new Set<string>();
  const taskIds = new Map<string, string>();
  let ended = 0;
  for (const name of taskFileNames(dir)) {
    const file = path.join(path.resolve(dir), name);
    const problem = (field: string, message: string) => void problems.push(`${file}: ${field}: ${message}`);
    let data: unknown;
    try {
      data = readJson(file);
    } catch (err) {
      problems.push(`${file}: not a JSON task file (${(err as Error).message})`);
      continue;
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      problems.push(`${file}: not a JSON object`);
      continue;
    }
    const fields = data as Record<string, unknown>;
    if (typeof fields.status !== 'string' || !STATUSES.includes(fields.status)) {
      problem('status', `must be one of ${STATUSES.join(', ')}`);
      continue;
    }
    if (ENDED.includes(fields.status)) {
      ended++;
      continue;
    }
    const taskId = fields.task_id;
    if (typeof taskId !== 'string' || !taskId.trim() || taskId.length > 200 || stripControls(taskId) !== taskId) {
      problem('task_id', 'must be the provider task id (a string)');
      continue;
    }
    const twin = taskIds.get(taskId);
    if (twin) problem('task_id', `'${taskId}' is the task of ${twin} too`);
    taskIds.set(taskId, file);
    const where = target(fields, base, problem);
    const req = request(fields, o, roots, problem);
    if (!where || !req || twin) continue;
    const model = typeof fields.req_key === 'string' && fields.req_key ? fields.req_key : o.model;
    const adopt: AdoptedTask = { taskId, outDir: where.outDir, ...(o.resubmit ? { resubmit: true } : {}) };
    const item = { id: itemIdOf(taskId, ids), ...req, model, filename: where.filename, adopt };
    pending.push({ file, taskId, item });
  }
  if (problems.length) throw new ItemsFileError(problems);
  return { pending, ended };
}

/** How a task ended, as the old checker records it. */
export type TaskEnd = { status: 'completed'; imagePath: string } | { status: 'failed'; error: string };

/**
 * Writes the task's end into its file, every other field kept: whole, through a tmp file and a rename (a link at
 * the path is replaced, never written through). A file that has ended meanwhile (the old checker still runs) is left
 * as it is: answers whether it was written.
 */
export function settleTaskFile(file: string, end: TaskEnd, batchId: string, now = Date.now()): boolean {
  const data = readJson(file) as Record<string, unknown>;
  if (typeof data.status === 'string' && ENDED.includes(data.status)) return false;
  const time = now / 1000;
  const added =
    end.status === 'completed'
      ? { status: 'completed', completed_time: time, image_path: end.imagePath }
      : { status: 'failed', failed_time: time, error_msg: end.error };
  replaceFile(file, JSON.stringify({ ...data, ...added, imagebatch_batch: batchId }, null, 2) + '\n');
  return true;
}

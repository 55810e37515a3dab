// An item's own ComfyUI workflow file: `{ "graph": <API-format graph>, "mapping": { "prompt": {node, input}, ... } }`.
// Read and checked twice: by the items reader (a bad file stops the batch before it starts) and by the submit
// activity (the file may have changed since; only its path travels in history).
import fs from 'node:fs';
import { invalidRequest, ProviderError } from '../types';
import { applyGraphMapping } from './graph';
import type { ComfyWorkflow, GraphValues, MappedField } from './graph-types';

/** A graph with its mapping is kilobytes; a file far larger is not one. */
export const MAX_WORKFLOW_FILE_BYTES = 5 * 1024 * 1024;

const FIELDS: readonly MappedField[] = ['prompt', 'negativePrompt', 'seed', 'width', 'height', 'model'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkRefs(field: string, value: unknown): void {
  const refs = Array.isArray(value) ? value : [value];
  if (!refs.length) throw invalidRequest(`mapping.${field} names no node input`);
  for (const r of refs) {
    if (!isObject(r) || typeof r.node !== 'string' || typeof r.input !== 'string') {
      throw invalidRequest(`mapping.${field}: expected {"node": "<id>", "input": "<name>"} or a list of them`);
    }
  }
}

/** The workflow in `value`, or an InvalidRequest saying what is wrong with it. */
export function parseComfyWorkflow(value: unknown): ComfyWorkflow {
  if (!isObject(value) || !isObject(value.graph) || !isObject(value.mapping)) {
    throw invalidRequest(
      'expected {"graph": <the graph as ComfyUI\'s "Save (API)" writes it>, "mapping": {"prompt": {"node": "6", ' +
        '"input": "text"}, ...}}',
    );
  }
  for (const [id, node] of Object.entries(value.graph)) {
    if (!isObject(node) || typeof node.class_type !== 'string' || !isObject(node.inputs)) {
      throw invalidRequest(`graph node ${JSON.stringify(id)} is not {"class_type": ..., "inputs": {...}} (API format)`);
    }
  }
  const mapping = value.mapping;
  for (const key of Object.keys(mapping)) {
    if (!FIELDS.includes(key as MappedField)) {
      throw invalidRequest(`mapping.${key}: not one of ${FIELDS.join(', ')}`);
    }
    checkRefs(key, mapping[key]);
  }
  if (mapping.prompt === undefined)
    throw invalidRequest('mapping.prompt is required (the node input the prompt goes to)');
  const workflow = value as unknown as ComfyWorkflow;
  // Putting a value into every mapped input checks that each names a node and input the graph has.
  const probe: GraphValues = Object.fromEntries(Object.keys(mapping).map((k) => [k, 0]));
  applyGraphMapping(workflow.graph, workflow.mapping, probe);
  return workflow;
}

/** Reads and checks a workflow file; every problem is an InvalidRequest naming the file. */
export function readComfyWorkflowFile(file: string): ComfyWorkflow {
  const fail = (why: string) => invalidRequest(`ComfyUI workflow ${file}: ${why}`);
  let text: string;
  // Not through a link swapped in since the items reader resolved the path, and a FIFO is refused, not waited on.
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw fail('is not a regular file');
    if (st.size > MAX_WORKFLOW_FILE_BYTES) throw fail(`is ${st.size} bytes, over ${MAX_WORKFLOW_FILE_BYTES}`);
    text = fs.readFileSync(fd, 'utf8');
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw fail(code === 'ELOOP' ? 'is a symbolic link' : `cannot be read: ${code ?? (err as Error).message}`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw fail(`is not JSON: ${(err as Error).message}`);
  }
  try {
    return parseComfyWorkflow(json);
  } catch (err) {
    throw fail((err as Error).message);
  }
}

/** The item fields this workflow's mapping has no input for, among those the item sets. */
export function unmappedFields(workflow: ComfyWorkflow, values: GraphValues): MappedField[] {
  return (Object.keys(values) as MappedField[]).filter(
    (f) => values[f] !== undefined && workflow.mapping[f] === undefined,
  );
}

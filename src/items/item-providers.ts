// An item's providers beyond their request keys: its ComfyUI graph file (`workflow`, relative to the items file, read
// and checked now so a bad one stops the batch before it starts), ComfyUI params against that graph, and, for `run`,
// whether this process holds the credentials of a provider the item names itself.
import fs from 'node:fs';
import path from 'node:path';
import { credentialNames, PROVIDER_CREDENTIALS } from '../providers';
import { DEFAULT_COMFY_WORKFLOW } from '../providers/comfyui/default-graph';
import { applyGraphParams } from '../providers/comfyui/graph';
import type { ComfyWorkflow, GraphValues, InputRef } from '../providers/comfyui/graph-types';
import { readComfyWorkflowFile, unmappedFields } from '../providers/comfyui/workflow-file';
import type { BatchProviders } from '../shared/batch-types';
import { ProviderError } from '../providers/types';
import { providerOrder } from '../shared/providers';
import type { ImageItem, ProviderKind } from '../shared/types';
import type { FieldProblem } from './fields';
import type { RefRoots } from './references';

export interface ItemProviderOptions {
  /** The batch's providers (an item without its own is sent to them). */
  batch: BatchProviders;
  /** `run`: the providers this process's worker serves; an item naming another is refused. */
  served?: readonly ProviderKind[];
}

const inside = (file: string, dir: string) => file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/** The graph file as the worker will read it (resolved, inside the items folder or --refs-dir), or why not. */
function resolveWorkflow(ref: string, roots: RefRoots): { file: string } | { problem: string } {
  let real: string;
  try {
    real = fs.realpathSync(path.resolve(roots.itemsDir, ref));
  } catch (err) {
    return { problem: `cannot read '${ref}': ${(err as NodeJS.ErrnoException).code ?? 'no such file'}` };
  }
  // Like reference images: an items file from someone else must not make a worker read any file it can.
  if (!roots.allowed.some((dir) => inside(real, dir))) {
    return { problem: `'${ref}' is outside the items file's folder and --refs-dir` };
  }
  return { file: real };
}

function loadWorkflow(item: ImageItem, roots: RefRoots): { workflow?: ComfyWorkflow; problem?: string } {
  const resolved = resolveWorkflow(item.workflow!, roots);
  if ('problem' in resolved) return resolved;
  try {
    const workflow = readComfyWorkflowFile(resolved.file);
    item.workflow = resolved.file;
    return { workflow };
  } catch (err) {
    if (err instanceof ProviderError) return { problem: err.message };
    throw err;
  }
}

/** ComfyUI params set node inputs; those the mapping fills from the item's fields are imagebatch's. */
function comfyParamProblems(item: ImageItem, workflow: ComfyWorkflow): FieldProblem[] {
  const params = item.params ?? {};
  const out: FieldProblem[] = [];
  const mapped = new Map<string, string>();
  for (const [field, refs] of Object.entries(workflow.mapping)) {
    for (const r of [refs as InputRef | InputRef[]].flat()) mapped.set(`${r.node}.${r.input}`, field);
  }
  for (const key of Object.keys(params)) {
    const field = mapped.get(key);
    if (field)
      out.push({ field: `params.${key}`, message: `is set by imagebatch for comfyui: use the item's ${field}` });
    else {
      try {
        applyGraphParams(workflow.graph, { [key]: params[key] });
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        out.push({ field: `params.${key}`, message: err.message });
      }
    }
  }
  return out;
}

/** The item's fields that the graph has no input for: refused at submit, so refused here. */
function unmappedProblems(item: ImageItem, workflow: ComfyWorkflow): FieldProblem[] {
  const values: GraphValues = {
    negativePrompt: item.negativePrompt || undefined,
    seed: item.seed !== undefined && item.seed >= 0 ? item.seed : undefined,
    width: item.width,
    height: item.height,
    model: item.model,
  };
  return unmappedFields(workflow, values).map((field) => ({
    field,
    message: `the ComfyUI workflow ${item.workflow ?? '(the default)'} has no input for it in its mapping`,
  }));
}

export function itemProviderProblems(item: ImageItem, roots: RefRoots, o: ItemProviderOptions): FieldProblem[] {
  const providers = providerOrder(item.provider, o.batch);
  const out: FieldProblem[] = [];
  if (o.served && item.provider !== undefined) {
    for (const p of providers.filter((k) => !o.served!.includes(k))) {
      out.push({
        field: 'provider',
        message:
          `${p}: ${credentialNames(p)} not set here, and run works the batch in this process: ` +
          `set ${PROVIDER_CREDENTIALS[p].length > 1 ? 'them' : 'it'}, or run the batch with --provider simulator`,
      });
    }
  }
  if (!providers.includes('comfyui')) return out;
  let workflow = DEFAULT_COMFY_WORKFLOW;
  if (item.workflow !== undefined) {
    const loaded = loadWorkflow(item, roots);
    if (loaded.problem) return [...out, { field: 'workflow', message: loaded.problem }];
    workflow = loaded.workflow!;
  }
  return [...out, ...comfyParamProblems(item, workflow), ...unmappedProblems(item, workflow)];
}

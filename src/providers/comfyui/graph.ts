// ComfyUI API-format graphs and the mapping that says which node inputs take an item's fields. A graph is any
// workflow exported with "Save (API)"; its mapping names, for each field, one node input or several.
import { invalidRequest } from '../types';
import type { ApiGraph, GraphMapping, GraphValues, InputRef, MappedField } from './graph-types';

const targets = (r: InputRef | InputRef[] | undefined): InputRef[] => (r === undefined ? [] : [r].flat());

/** The node input a mapping or a param names; a name the graph lacks is the item's mistake, not ComfyUI's. */
function inputsOf(graph: ApiGraph, ref: InputRef, what: string): Record<string, unknown> {
  const node = Object.hasOwn(graph, ref.node) ? graph[ref.node] : undefined;
  if (!node || typeof node.inputs !== 'object' || node.inputs === null) {
    throw invalidRequest(`ComfyUI graph: ${what} names node ${JSON.stringify(ref.node)}, which the graph lacks`);
  }
  if (!Object.hasOwn(node.inputs, ref.input)) {
    throw invalidRequest(`ComfyUI graph: ${what} names input ${ref.node}.${ref.input}, which node has no such input`);
  }
  return node.inputs;
}

/**
 * A copy of the graph with each given value put into the inputs its mapping names. A value the mapping has no
 * place for is refused rather than dropped: the item asked for something this graph cannot do.
 */
export function applyGraphMapping(graph: ApiGraph, mapping: GraphMapping, values: GraphValues): ApiGraph {
  const out: ApiGraph = structuredClone(graph);
  for (const [field, value] of Object.entries(values) as [MappedField, string | number | undefined][]) {
    if (value === undefined) continue;
    const refs = targets(mapping[field]);
    if (!refs.length) throw invalidRequest(`ComfyUI graph: its mapping has no input for ${field}`);
    for (const ref of refs) inputsOf(out, ref, `the mapping of ${field}`)[ref.input] = value;
  }
  return out;
}

/** An item's params set node inputs directly: `{"3.steps": 30, "3.cfg": 6.5}` (node id, dot, input name). */
export function applyGraphParams(graph: ApiGraph, params: Record<string, unknown> = {}): ApiGraph {
  const out: ApiGraph = structuredClone(graph);
  for (const [key, value] of Object.entries(params)) {
    const dot = key.lastIndexOf('.');
    if (dot <= 0 || dot === key.length - 1) {
      throw invalidRequest(`ComfyUI params: '${key}' is not <node id>.<input name>, such as 3.steps`);
    }
    const ref = { node: key.slice(0, dot), input: key.slice(dot + 1) };
    inputsOf(out, ref, `param '${key}'`)[ref.input] = value;
  }
  return out;
}

/** The value now at the first input a field maps to, if any. */
export function mappedValue(graph: ApiGraph, mapping: GraphMapping, field: MappedField): unknown {
  const ref = targets(mapping[field])[0];
  return ref ? graph[ref.node]?.inputs[ref.input] : undefined;
}

// How the simulated ComfyUI reads an API-format graph: its own reading, not the client's mapping, so a graph the
// client builds wrong is caught. From the output node it follows links back to the sampler, and from the sampler to
// its positive prompt, its latent size and its checkpoint; what it cannot follow it refuses as ComfyUI does (400).

interface Node {
  class_type?: unknown;
  inputs?: Record<string, unknown>;
}

export interface ReadGraph {
  prompt: string;
  seed: number;
  width: number;
  height: number;
  checkpoint: string;
  outputId: string;
  samplerId: string;
}

export interface GraphRefusal {
  error: { type: string; message: string; details: string; extra_info: Record<string, never> };
  node_errors: Record<string, { errors: { type: string; message: string; details: string }[]; class_type: string }>;
}

const OUTPUTS = new Set(['SaveImage', 'PreviewImage']);
const SAMPLERS = new Set(['KSampler', 'KSamplerAdvanced']);

const isLink = (v: unknown): v is [string, number] =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'number';

function refuse(
  type: string,
  message: string,
  node?: { id: string; classType: string; details: string },
): GraphRefusal {
  const node_errors: GraphRefusal['node_errors'] = {};
  if (node) node_errors[node.id] = { errors: [{ type, message, details: node.details }], class_type: node.classType };
  return { error: { type, message, details: node?.details ?? '', extra_info: {} }, node_errors };
}

/** The first node of one of `types` found by following links back from `start` (itself included). */
function upstream(nodes: Record<string, Node>, start: string, types: Set<string>): string | undefined {
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    if (types.has(String(nodes[id].class_type))) return id;
    for (const v of Object.values(nodes[id].inputs ?? {})) if (isLink(v)) stack.push(v[0]);
  }
  return undefined;
}

export function readGraph(graph: Record<string, unknown>): ReadGraph | GraphRefusal {
  const nodes = graph as Record<string, Node>;
  for (const [id, n] of Object.entries(nodes)) {
    if (!n || typeof n !== 'object' || typeof n.class_type !== 'string') {
      return refuse('invalid_prompt', `Cannot execute because node ${id} has no class_type.`);
    }
    for (const [name, v] of Object.entries(n.inputs ?? {})) {
      if (isLink(v) && !Object.hasOwn(nodes, v[0])) {
        const details = `${name}: links to node ${v[0]}, which is not in the prompt`;
        return refuse('required_input_missing', 'Required input is missing', { id, classType: n.class_type, details });
      }
    }
  }
  const outputId = Object.keys(nodes).find((id) => OUTPUTS.has(String(nodes[id].class_type)));
  if (!outputId) return refuse('prompt_no_outputs', 'Prompt has no outputs');
  const samplerId = upstream(nodes, outputId, SAMPLERS);
  const classType = String(nodes[outputId].class_type);
  if (!samplerId) return refuse('exception_during_validation', 'No sampler', { id: outputId, classType, details: '' });
  const s = nodes[samplerId].inputs ?? {};
  const sampler = { id: samplerId, classType: String(nodes[samplerId].class_type) };
  const textId = isLink(s.positive) ? upstream(nodes, s.positive[0], new Set(['CLIPTextEncode'])) : undefined;
  const text = textId ? nodes[textId].inputs?.text : undefined;
  if (typeof text !== 'string' || !text) {
    return refuse('required_input_missing', 'Required input is missing', { ...sampler, details: 'positive: text' });
  }
  const latent = isLink(s.latent_image) ? (nodes[s.latent_image[0]].inputs ?? {}) : {};
  const ckptId = isLink(s.model) ? upstream(nodes, s.model[0], new Set(['CheckpointLoaderSimple'])) : undefined;
  return {
    prompt: text,
    seed: Number(s.seed ?? s.noise_seed ?? 0),
    width: Number(latent.width ?? 512),
    height: Number(latent.height ?? 512),
    checkpoint: String((ckptId && nodes[ckptId].inputs?.ckpt_name) ?? 'unknown'),
    outputId,
    samplerId,
  };
}

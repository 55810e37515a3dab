// The shapes of a ComfyUI API-format graph and its mapping, apart from the code that applies them: the provider
// types name a ComfyWorkflow, and this file imports nothing back.

export interface GraphNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: { title?: string };
}

/** Node id to node, as ComfyUI's "Save (API)" writes it. */
export type ApiGraph = Record<string, GraphNode>;

export interface InputRef {
  node: string;
  input: string;
}

export type MappedField = 'prompt' | 'negativePrompt' | 'seed' | 'width' | 'height' | 'model';

/** Which node inputs take each field; `prompt` is required, a graph without the others just cannot set them. */
export type GraphMapping = { prompt: InputRef | InputRef[] } & Partial<Record<MappedField, InputRef | InputRef[]>>;

export interface ComfyWorkflow {
  graph: ApiGraph;
  mapping: GraphMapping;
}

export type GraphValues = Partial<Record<MappedField, string | number>>;

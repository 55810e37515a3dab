// The rules an item must meet beyond its schema, checked before anything starts: each would otherwise be dropped
// silently, sent wrong, or paid for in a way the user did not ask for.
import { DASHSCOPE_RESERVED_PARAMS } from '../providers/dashscope/client';
import { FAL_RESERVED_PARAMS } from '../providers/fal/client';
import { OPENAI_RESERVED_PARAMS } from '../providers/openai/client';
import { VOLCENGINE_RESERVED_PARAMS } from '../providers/volcengine/client';
import { imageStem } from '../output/image-file';
import { ITEM_FIELDS } from '../shared/item-schema';
import { cleanPrompt } from '../shared/prompt';
import { providerOrder } from '../shared/providers';
import type { ImageItem, ProviderKind } from '../shared/types';
import type { FieldProblem } from './fields';
import type { BatchProviders } from '../shared/batch-types';

/**
 * Each provider's request keys that imagebatch sets; their one home is beside the provider's body builder. ComfyUI
 * has none here: its params name node inputs (`3.steps`), and which of those imagebatch sets depends on the item's
 * graph, so item-providers checks them against its mapping.
 */
const RESERVED_PARAMS: Record<ProviderKind, Readonly<Record<string, string>>> = {
  volcengine: VOLCENGINE_RESERVED_PARAMS,
  dashscope: DASHSCOPE_RESERVED_PARAMS,
  fal: FAL_RESERVED_PARAMS,
  openai: OPENAI_RESERVED_PARAMS,
  comfyui: {},
};

/** Keys reserved by any provider the item may reach (params go to each provider in its fallback order). */
function reservedParams(item: ImageItem, providers: ProviderKind[]): FieldProblem[] {
  return Object.keys(item.params ?? {}).flatMap((key) => {
    const provider = providers.find((p) => Object.hasOwn(RESERVED_PARAMS[p], key));
    return provider ? [reservedProblem(key, provider)] : [];
  });
}

function reservedProblem(key: string, provider: ProviderKind): FieldProblem {
  // Each entry names the item field(s) that set the key, or says why it is fixed.
  const why = RESERVED_PARAMS[provider][key];
  const how = ITEM_FIELDS.includes(why.split(' ')[0]) ? `use the item's ${why}` : why;
  return { field: `params.${key}`, message: `is set by imagebatch for ${provider}, not by params: ${how}` };
}

export function itemRuleProblems(item: ImageItem, batch: BatchProviders): FieldProblem[] {
  const out: FieldProblem[] = [];
  // One of the two was dropped before: both or neither.
  if ((item.width === undefined) !== (item.height === undefined)) {
    const [given, missing] = item.width === undefined ? ['height', 'width'] : ['width', 'height'];
    out.push({ field: missing, message: `is required with ${given} (give both or neither)` });
  }
  // The workflow sends the cleaned prompt: it must not be empty.
  if (!cleanPrompt(item.prompt)) {
    out.push({ field: 'prompt', message: 'has nothing left once its Midjourney flags (--ar, --v, ...) are removed' });
  }
  const providers = providerOrder(item.provider, batch);
  out.push(...reservedParams(item, providers));
  // Only ComfyUI runs a graph; another provider would drop the file silently.
  if (item.workflow !== undefined && !providers.includes('comfyui')) {
    out.push({ field: 'workflow', message: `is a ComfyUI graph, and this item goes to ${providers.join(', ')}` });
  }
  return out;
}

/** An item where it is in the file. */
export interface Placed {
  item: ImageItem;
  line: number;
}

/** The output file an item names, and the key two names collide on. */
function outputName(item: ImageItem): { field: string; name: string; key: string } {
  const name = item.filename ?? `${item.id}.png`;
  // The extension follows the bytes (a JPEG asked for as x.png lands in x.jpg), and some disks ignore case.
  const key = imageStem({ itemId: item.id, filename: item.filename }).toLowerCase();
  return { field: item.filename ? 'filename' : 'id', name, key };
}

/** Items whose images would land in one file: each reported at its line, naming the other's. */
export function nameCollisions(placed: Placed[]): { line: number; problem: FieldProblem }[] {
  const first = new Map<string, { line: number; name: string }>();
  const out: { line: number; problem: FieldProblem }[] = [];
  for (const { item, line } of placed) {
    const { field, name, key } = outputName(item);
    const other = first.get(key);
    if (!other) {
      first.set(key, { line, name });
      continue;
    }
    const mine = item.filename ? `'${name}'` : `'${name}' (its default file name)`;
    out.push({
      line,
      problem: {
        field,
        message: `${mine} is the same file as line ${other.line}'s '${other.name}' (names that differ only in case or extension collide)`,
      },
    });
  }
  return out;
}

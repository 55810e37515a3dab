// Output names at read time: an item's own filename template, else `--filename`, rendered into its `filename`; and
// the variants of one item with one plain name get `-<k>` so that each is its own file. Collisions between the
// rendered names are found afterwards by the reader's one collision check (case- and extension-insensitive).
import type { BatchProviders } from '../shared/batch-types';
import { IMAGE_EXT, ItemSchema } from '../shared/item-schema';
import type { ImageItem } from '../shared/types';
import { UsageError } from '../shared/usage-error';
import {
  isTemplate,
  parseTemplate,
  renderTemplate,
  type TemplateValues,
  variesPerVariant,
  withVariantSuffix,
} from './filename-template';
import { stripControls } from './errors';
import type { Problems } from './problems';

/** An item where it is in the file, with its own template (taken out before the schema, which refuses braces). */
export interface NamedItem {
  item: ImageItem;
  line: number;
  template?: string;
  /** A variant expanded in this read (a manifest's variants were expanded when it was first read). */
  fresh?: boolean;
}

export interface NameContext {
  /** `--filename`. */
  template?: string;
  batchId?: string;
  /** The batch's providers: the first is `{provider}` of an item that names none. */
  batch: BatchProviders;
}

/** An item's filename when it is a template (a string with braces): taken out of the raw item for the schema. */
export function takeTemplate(value: object): { value: object; template?: string } {
  const { filename, ...rest } = value as { filename?: unknown };
  if (typeof filename !== 'string' || !isTemplate(filename)) return { value };
  return { value: rest, template: filename };
}

/** `--filename` is checked once, before any item: a wrong template would otherwise be reported on every line. */
export function checkFilenameFlag(template: string): void {
  const fail = (why: string) => new UsageError(`--filename '${stripControls(template)}': ${why}`);
  const parsed = parseTemplate(template);
  if ('problem' in parsed) throw fail(parsed.problem);
  if (/[/\\]|\.\./.test(template)) throw fail('a name must stay in the output folder (no /, \\ or ..)');
  if (!IMAGE_EXT.test(template)) throw fail('must end in .png, .jpg, .jpeg or .webp');
}

function valuesOf(item: ImageItem, index: number, ctx: NameContext, provider: string): TemplateValues {
  const own = Array.isArray(item.provider) ? item.provider[0] : item.provider;
  return {
    batch: ctx.batchId,
    id: item.id,
    k: item.variant ?? 1,
    seed: item.seed !== undefined && item.seed >= 0 ? item.seed : undefined,
    provider: own ?? provider,
    model: item.model,
    index,
  };
}

/** Sets each item's `filename` from its template; problems are reported at the item's line. */
export function renderFilenames(named: NamedItem[], ctx: NameContext, problems: Problems): void {
  const provider = ctx.batch.provider;
  named.forEach(({ item, line, template: own, fresh }, i) => {
    const template = own ?? (item.filename === undefined ? ctx.template : undefined);
    if (template === undefined) {
      // One plain name for several variants: each gets its own.
      if (fresh && item.filename !== undefined) item.filename = withVariantSuffix(item.filename, item.variant!);
      return;
    }
    const parsed = parseTemplate(template);
    const perVariant = 'names' in parsed && variesPerVariant(parsed.names);
    const source = own === undefined ? `--filename '${template}'` : `'${template}'`;
    const rendered = renderTemplate(
      item.variant !== undefined && !perVariant ? withVariantSuffix(template, item.variant) : template,
      valuesOf(item, i + 1, ctx, provider),
    );
    if ('problem' in rendered) return problems.field(line, 'filename', `${source} ${rendered.problem}`);
    const checked = ItemSchema.shape.filename.safeParse(rendered.name);
    if (!checked.success)
      return problems.field(
        line,
        'filename',
        `${source} renders '${rendered.name}', which ${checked.error.issues[0].message}`,
      );
    item.filename = rendered.name;
  });
}

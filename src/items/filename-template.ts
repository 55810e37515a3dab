// Filename templates (`--filename '{id}-{seed}.png'`, or an item's own `filename`): rendered at read time into each
// item's `filename`, so the items copy, the workers and the manifest all see the one final name.

export const PLACEHOLDERS = ['batch', 'id', 'k', 'seed', 'provider', 'model', 'index'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** What one item's name is made of; an absent value renders empty. */
export type TemplateValues = Record<Placeholder, string | number | undefined>;

/** `{name}` or `{name:0W}` (zero padding to W characters, as `{index:04}`). */
const PLACEHOLDER = /\{([^{}]*)\}/g;
const SPEC = /^([a-z]+)(?::0(\d{1,3}))?$/;
/** Placeholders that tell an item's variants apart: a template without one gets `-<k>` for variants. */
const PER_VARIANT: readonly Placeholder[] = ['id', 'k', 'seed', 'index'];

/** Any brace makes a template: a plain file name has none (the schema refuses them). */
export const isTemplate = (name: string): boolean => /[{}]/.test(name);

const known = (name: string): name is Placeholder => (PLACEHOLDERS as readonly string[]).includes(name);

/** A value cannot bring a separator into the name: a model such as `fal-ai/flux/dev` becomes `fal-ai_flux_dev`. */
const safeValue = (value: string) => value.replace(/[^A-Za-z0-9._-]/g, '_');

/** The placeholders a template uses, or what is wrong with its syntax. */
export function parseTemplate(template: string): { names: Placeholder[] } | { problem: string } {
  const names: Placeholder[] = [];
  for (const [, spec] of template.matchAll(PLACEHOLDER)) {
    const m = SPEC.exec(spec);
    if (!m || !known(m[1]))
      return {
        problem: `unknown placeholder {${spec}} (use ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}, padded as {index:04})`,
      };
    names.push(m[1]);
  }
  if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) return { problem: 'has a { or } that does not close' };
  return { names };
}

/** Whether the variants of one item render different names from this template. */
export const variesPerVariant = (names: readonly Placeholder[]): boolean => names.some((n) => PER_VARIANT.includes(n));

/** `cover.png` -> `cover-2.png`: a variant's own name when its template does not tell variants apart. */
export function withVariantSuffix(template: string, k: number): string {
  const dot = template.lastIndexOf('.');
  return dot > 0 ? `${template.slice(0, dot)}-${k}${template.slice(dot)}` : `${template}-${k}`;
}

/**
 * The rendered name, or why it cannot be one: a name must stay a plain file in the batch folder (no separator, no
 * `..`). The caller checks the rest of the schema's filename rule (characters, extension).
 */
export function renderTemplate(template: string, values: TemplateValues): { name: string } | { problem: string } {
  const parsed = parseTemplate(template);
  if ('problem' in parsed) return parsed;
  const name = template.replace(PLACEHOLDER, (_all, spec: string) => {
    const [, key, width] = SPEC.exec(spec)!;
    const raw = values[key as Placeholder];
    const value = raw === undefined || raw === '' ? '' : safeValue(String(raw));
    return width && value ? value.padStart(Number(width), '0') : value;
  });
  if (/[/\\]/.test(name) || name.includes('..') || name === '.')
    return { problem: `renders '${name}', which leaves the output folder (no /, \\ or ..)` };
  return { name };
}

// Schema problems of one item as `field: message` pairs: unknown fields get the nearest known one as a hint.
import type { z } from 'zod';
import { ITEM_FIELDS } from '../shared/item-schema';

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(
        d[i - 1][j] + 1,
        d[i][j - 1] + 1,
        d[i - 1][j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1),
      );
    }
  }
  return d[a.length][b.length];
}

export function suggestField(name: string): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const f of ITEM_FIELDS) {
    const dist = editDistance(name, f);
    if (dist < bestD) [best, bestD] = [f, dist];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** One problem per field (the first: zod may add a generic one after the schema's own message). */
export function schemaProblems(issues: z.core.$ZodIssue[]): FieldProblem[] {
  const out: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const hint = suggestField(key);
        const field = [...issue.path, key].join('.');
        out.push({ field, message: `unknown field${hint ? ` (did you mean '${hint}'?)` : ''}` });
      }
      continue;
    }
    const field = issue.path.join('.') || '(item)';
    if (seen.has(field)) continue;
    seen.add(field);
    const missing = issue.code === 'invalid_type' && issue.message.includes('undefined');
    out.push({ field, message: missing ? 'is required' : issue.message });
  }
  return out;
}

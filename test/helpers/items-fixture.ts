// Files for items-file tests: a small whole PNG, and a folder layout with an items folder, a folder outside it
// holding an image, and a symlink from the one to the other.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Signature, a little body, IEND: whole enough for the magic-byte and completeness checks. */
export const PNG = Buffer.concat([
  Buffer.from('89504e470d0a1a0a', 'hex'),
  Buffer.alloc(16),
  Buffer.from('49454e44ae426082', 'hex'),
]);

export interface RefsLayout {
  root: string;
  /** Where items files are written. */
  items: string;
  /** A folder outside `items`, holding `face.png`; `items/face-link.png` links to it. */
  outside: string;
}

export function refsLayout(prefix: string): RefsLayout {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const items = path.join(root, 'items');
  const outside = path.join(root, 'outside');
  fs.mkdirSync(items);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'face.png'), PNG);
  fs.symlinkSync(path.join(outside, 'face.png'), path.join(items, 'face-link.png'));
  return { root, items, outside };
}

export const jsonl = (...objs: unknown[]) => objs.map((o) => JSON.stringify(o)).join('\n') + '\n';

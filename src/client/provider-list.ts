// `--provider`'s value: `simulator`, one provider, or a comma list in fallback order (`fal,dashscope`).
import { PROVIDER_KINDS, type ProviderKind } from '../shared/providers';
import { UsageError } from './exit-codes';
import { stripControls } from '../items/errors';

export type ProviderChoice = { simulator: true } | { simulator: false; kinds: ProviderKind[] };

const VALUES = `simulator, ${PROVIDER_KINDS.join(', ')} (or a comma list of providers in fallback order)`;

/** Throws UsageError naming the wrong part. */
export function parseProviderChoice(value: string): ProviderChoice {
  const names = value.split(',').map((s) => s.trim());
  const fail = (why: string) => new UsageError(`--provider: '${stripControls(value)}' ${why}`);
  if (names.length === 1 && names[0] === 'simulator') return { simulator: true };
  if (names.includes('simulator')) throw fail('mixes the simulator (which serves every provider) with providers');
  const kinds: ProviderKind[] = [];
  for (const name of names) {
    const kind = PROVIDER_KINDS.find((k) => k === name);
    if (!kind) {
      const what = names.length === 1 ? 'is' : `names '${stripControls(name)}', which is`;
      throw fail(`${what} not one of ${VALUES}`);
    }
    if (kinds.includes(kind)) throw fail(`names ${kind} twice`);
    kinds.push(kind);
  }
  return { simulator: false, kinds };
}

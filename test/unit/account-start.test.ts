// The account workflow is started from one place, which does not import the workflow: what it hands the workflow
// must stay the workflow's input (a type check, run by `tsc -p test/tsconfig.json`), and the id it starts names the
// provider for a look-up that cannot read that input.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { AccountStart } from '../../src/activities/accounts';
import { accountIdProvider, accountOf } from '../../src/providers/account';
import { PROVIDER_KINDS } from '../../src/shared/providers';
import type { AccountInput } from '../../src/workflows/account';

const client = { account: () => ({ endpoint: 'https://api.example', fingerprint: '0123456789abcdef' }) };

describe('an account start', () => {
  it("is the account workflow's input", () => {
    expectTypeOf<AccountStart>().toExtend<AccountInput>();
    expectTypeOf<AccountInput['account']>().toEqualTypeOf<AccountStart['account']>();
  });

  it("names the account's provider in its workflow id, for every provider", () => {
    for (const kind of PROVIDER_KINDS) {
      const { workflowId } = accountOf(kind, { [kind]: client }, 'q');
      expect(accountIdProvider(workflowId)).toBe(kind);
    }
    expect(accountIdProvider('batch-account-fal-x')).toBeUndefined();
    expect(accountIdProvider('account-midjourney-0123')).toBeUndefined();
  });
});

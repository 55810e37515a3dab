// What a provider plan starts in this process: the provider clients its worker serves (credentials stay in this
// process's environment: they reach those clients, never a workflow), or the built-in simulator and clients for it.
import { allCredentialNames, PROVIDER_ENDPOINT_VARIABLE, type ProviderClients, providersFromEnv } from '../providers';
import { type ProviderSimulator, startSimulator } from '../providers/simulator/server';
import { UsageError } from './exit-codes';
import type { ProviderPlan } from './provider-plan';
import type { AccountLimits } from './settings';

export interface ProviderSetup {
  /** The clients this process's worker serves: one worker per provider queue. */
  providers: ProviderClients;
  taskQueue: string;
  simulator?: ProviderSimulator;
  note?: string;
  /** The limit each provider account starts with when this process's worker first opens it (config or env). */
  accountLimits?: AccountLimits;
}

/** `--endpoint` is the endpoint of the batch's provider (the first of `--provider`). */
export function withEndpoint(
  plan: ProviderPlan,
  endpoint: string | undefined,
  env: NodeJS.ProcessEnv,
): NodeJS.ProcessEnv {
  return endpoint ? { ...env, [PROVIDER_ENDPOINT_VARIABLE[plan.batch.provider]]: endpoint } : env;
}

export async function setupProviders(
  plan: ProviderPlan,
  endpoint?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProviderSetup> {
  if (!plan.simulated) {
    if (endpoint && plan.use === 'worker' && plan.choice === undefined && plan.serves.length > 1)
      throw new UsageError(
        `--endpoint: this worker serves ${plan.serves.join(', ')}; name the provider it is for with --provider`,
      );
    return { providers: providersFromEnv(withEndpoint(plan, endpoint, env), plan.serves), taskQueue: plan.taskQueue };
  }
  const simulator = await startSimulator({ latencyMs: { dist: 'uniform', min: 1000, max: 3000 } });
  return {
    // The simulator speaks every provider's wire format, so its worker serves them all.
    providers: providersFromEnv(simulator.env()),
    taskQueue: plan.taskQueue,
    simulator,
    note:
      plan.choice === 'simulator'
        ? `using the built-in provider simulator (every provider's wire format) at ${simulator.url}`
        : `no provider credentials are set (${allCredentialNames()}): using the built-in provider simulator ` +
          `at ${simulator.url}; the images are simulated`,
  };
}

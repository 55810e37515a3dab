// A synchronous provider's one call (OpenAI-compatible Images): the request in, the image stored, in one activity
// that heartbeats while the provider works and is aborted by a cancel. There is no task to journal: a call made again
// after a worker died mid-call may be paid twice (the workflow counts both against the budget; the README's
// duplicate window says so).
import { cancellationSignal, log } from '@temporalio/activity';
import { withSource } from '../output/image-metadata';
import { makeFolder } from '../storage/safe-write';
import type { ProviderClients } from '../providers';
import { isBucketLocation } from '../storage/batch-store';
import type { GenerateImageInput, GenerateImageOutput } from '../shared/types';
import { withHeartbeats } from './heartbeats';
import { existingImage, saveImage } from './image-save';
import { writingIn } from './local-storage';
import { callProvider } from './provider-call';
import { syncClient } from './provider-client';

export function createGenerateActivity({
  providers,
  maxImageBytes,
}: {
  providers: ProviderClients;
  maxImageBytes?: number;
}) {
  async function generate(input: GenerateImageInput): Promise<GenerateImageOutput> {
    const existing = await existingImage(input);
    if (existing) return { existing };
    const client = syncClient(providers, input.provider);
    // A folder that cannot even be made fails the item before the provider is paid.
    // (A bucket has no folder to make: it was checked before the batch started.)
    await writingIn(input.outDir, false, () => isBucketLocation(input.outDir) || makeFolder(input.outDir));
    const answer = await callProvider(input, (request) => client.generate(request, cancellationSignal()));
    if ('throttled' in answer) return answer;
    const { model } = answer;
    const stored = await saveImage(input, answer.images[0], `${input.provider} image of item ${input.itemId}`, {
      maxImageBytes,
      meta: withSource(input.meta, { provider: input.provider, model }),
    });
    log.info('generated', { itemId: input.itemId, provider: input.provider, model });
    return { stored, model };
  }

  return (input: GenerateImageInput): Promise<GenerateImageOutput> => withHeartbeats(() => generate(input));
}

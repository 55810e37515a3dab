// The text-to-image graph imagebatch sends when an item names none: ComfyUI's own basic Stable Diffusion example in
// API format (checkpoint, two prompts, empty latent, sampler, VAE decode, save), and where each item field goes.
// The checkpoint is the item's `model`; the default is the SD 1.5 file ComfyUI's examples name.
import type { ComfyWorkflow } from './graph-types';

export const COMFYUI_DEFAULT_CHECKPOINT = 'v1-5-pruned-emaonly.safetensors';

export const DEFAULT_COMFY_WORKFLOW: ComfyWorkflow = {
  graph: {
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed: 0,
        steps: 20,
        cfg: 7,
        sampler_name: 'euler',
        scheduler: 'normal',
        denoise: 1,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
    },
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: COMFYUI_DEFAULT_CHECKPOINT } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['4', 1] }, _meta: { title: 'prompt' } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['4', 1] }, _meta: { title: 'negative prompt' } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'imagebatch', images: ['8', 0] } },
  },
  mapping: {
    prompt: { node: '6', input: 'text' },
    negativePrompt: { node: '7', input: 'text' },
    seed: { node: '3', input: 'seed' },
    width: { node: '5', input: 'width' },
    height: { node: '5', input: 'height' },
    model: { node: '4', input: 'ckpt_name' },
  },
};

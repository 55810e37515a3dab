// The rules of a batch's image webhooks (`--webhook-events image`), in a plain class (no Temporal calls): each image
// that ends gets one delivery, with an id that names it the same on every try and in every run; a delivery stays in
// the batch's state until it has ended (delivered, or given up), so continue-as-new carries those still running and
// the next run starts them again (at least once: the receiver dedupes on the id).
import type { BatchState } from '../shared/batch-types';
import { type ImageDelivery, imageEvent, type ItemVariant } from '../shared/image-event';
import type { ImageResult } from '../shared/types';

export class ImageDeliveryLedger {
  /** Deliveries this run has started (a new run starts the carried ones again). */
  private readonly running = new Set<string>();
  private readonly deliveries: ImageDelivery[];
  private readonly variants: NonNullable<BatchState['variants']>;

  /** `prefix`: the batch's own delivery id, `<workflow id>/<first run id>`, which every image's id starts with. */
  constructor(
    s: BatchState,
    private readonly prefix: string,
  ) {
    this.deliveries = s.imageDeliveries ??= [];
    this.variants = s.variants ??= {};
  }

  /** An item's child started: a variant's group and number are kept for its delivery (the result does not say). */
  started(itemId: string, { group, variant }: ItemVariant): void {
    if (group !== undefined) this.variants[itemId] = { group, variant };
  }

  /**
   * The image of round `round` (0, or the N-th retry) ended with `r` at `endedAt` (workflow time): its delivery, with
   * the id `<batch's>/<item>`, `<batch's>/<item>/r<N>` for a retry (as the image's workflow id is).
   */
  imageEnded(r: ImageResult, round: number, endedAt: number): void {
    const variant = this.variants[r.itemId];
    delete this.variants[r.itemId];
    const id = `${this.prefix}/${r.itemId}${round ? `/r${round}` : ''}`;
    this.deliveries.push({ id, event: imageEvent(r, variant, new Date(endedAt).toISOString()) });
  }

  /** Whether a delivery waits to be started by this run. */
  hasNew(): boolean {
    return this.deliveries.some((d) => !this.running.has(d.id));
  }

  /** The deliveries to start now: those this run has not started. */
  takeNew(): ImageDelivery[] {
    const fresh = this.deliveries.filter((d) => !this.running.has(d.id));
    for (const d of fresh) this.running.add(d.id);
    return fresh;
  }

  /** The delivery has ended, delivered or given up: it leaves the state. */
  delivered(id: string): void {
    this.running.delete(id);
    const at = this.deliveries.findIndex((d) => d.id === id);
    if (at >= 0) this.deliveries.splice(at, 1);
  }

  /** Deliveries not yet ended. */
  get left(): number {
    return this.deliveries.length;
  }
}

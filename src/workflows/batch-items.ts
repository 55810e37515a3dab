// The batch's items as the workflow reads them: inline, or paged in from the items copy by an activity.
import type { ItemsSource } from '../shared/batch-types';
import type { ImageItem } from '../shared/types';
import { batchActivities } from './batch-activities';
import type { ItemLoader, Positions } from './batch-ledger';

export class BatchItems implements ItemLoader {
  private page: { offset: number; items: ImageItem[] } | undefined;

  constructor(private readonly source: ItemsSource) {}

  async at(index: number): Promise<ImageItem> {
    if (this.source.kind === 'inline') return this.source.items[index];
    if (!this.page || index < this.page.offset || index >= this.page.offset + this.page.items.length) {
      const { path, sha256, pageSize } = this.source;
      const items = await batchActivities.loadItemsPage({ path, sha256, offset: index, limit: pageSize });
      this.page = { offset: index, items };
    }
    return this.page.items[index - this.page.offset];
  }

  async byIds(ids: string[]): Promise<ImageItem[]> {
    if (this.source.kind === 'inline') {
      const want = new Set(ids);
      return this.source.items.filter((i) => want.has(i.id));
    }
    return batchActivities.loadItemsById({ path: this.source.path, sha256: this.source.sha256, ids });
  }

  /** Where the named items stand in the list, when that is known without an activity (inline items). */
  positionsNow(ids: string[] | undefined): Positions {
    if (this.source.kind !== 'inline' || !ids?.length) return undefined;
    const want = new Set(ids);
    const found = new Map<string, number>();
    this.source.items.forEach((item, index) => want.has(item.id) && found.set(item.id, index));
    return found;
  }

  /** Where the named items stand in the list (an activity reads a paged list). */
  async positions(ids: string[] | undefined): Promise<Positions> {
    if (this.source.kind === 'inline' || !ids?.length) return this.positionsNow(ids);
    const found = await batchActivities.locateItems({ path: this.source.path, sha256: this.source.sha256, ids });
    return new Map(Object.entries(found));
  }
}

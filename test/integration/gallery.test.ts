// The gallery in headless Chromium, loaded from file:// as a user opens it: a real batch against the simulator (a
// prompt moderation keeps refusing, one simplification rescues, a variation group), then synthetic manifests for
// cancelled items, hostile text and 10,000 items. `imagebatch report` writes the page again.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { galleryReportCommand } from '../../src/client/commands/report';
import { UsageError } from '../../src/client/exit-codes';
import { batchFolder } from '../../src/output/batch-folder';
import { writeGalleryFile } from '../../src/output/gallery';
import type { Manifest, ManifestEntry } from '../../src/output/manifest';
import { readManifest, startTestBatch } from '../helpers/batch';
import { type ImageEnv, startImageEnv } from '../helpers/image-env';
import { closeConnections } from '../helpers/temporal';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let env: ImageEnv;
let browser: Browser;

beforeAll(async () => {
  env = await startImageEnv({ latencyMs: 50, moderationWords: ['bloody', 'unlucky'] });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await env?.stop();
  await closeConnections();
});

async function open(file: string): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(pathToFileURL(file).href);
  await page.locator('#grid').waitFor();
  return Object.assign(page, { errors });
}

/** What the tests read of an <img> in the page (the test tier has no DOM types). */
interface PageImage {
  complete: boolean;
  naturalWidth: number;
  addEventListener(type: 'load' | 'error', fn: () => void, o: { once: true }): void;
}
type PageGlobals = { pwned?: number; document: { getElementsByTagName(tag: string): { length: number } } };

const shownIds = (page: Page) => page.locator('#grid .item').evaluateAll((els) => els.map((e) => e.dataset.id));

/** Scrolls each thumbnail into view (they load lazily) and waits for it to load or fail; returns how many loaded. */
async function loadedImages(page: Page): Promise<number> {
  const imgs = page.locator('#grid img');
  let loaded = 0;
  for (let i = 0; i < (await imgs.count()); i++) {
    const img = imgs.nth(i);
    await img.scrollIntoViewIfNeeded();
    const ok = await img.evaluate(
      (node) =>
        new Promise<boolean>((resolve) => {
          const el = node as unknown as PageImage;
          if (el.complete) return resolve(el.naturalWidth > 0);
          el.addEventListener('load', () => resolve(el.naturalWidth > 0), { once: true });
          el.addEventListener('error', () => resolve(false), { once: true });
        }),
    );
    if (ok) loaded++;
  }
  return loaded;
}

describe('gallery of a real batch', () => {
  const batchId = `gallery-${process.pid}`;
  let dir: string;
  let manifest: Manifest;

  beforeAll(async () => {
    const items = [
      { id: 'lake', prompt: 'a calm lake at dawn' },
      { id: 'battle', prompt: 'a bloody battlefield at sunset, knights and banners, epic, detailed' },
      { id: 'bad', prompt: 'unlucky' },
      { id: 'fox', prompt: 'a red fox in snow', seed: 42, width: 512, height: 512 },
      { id: 'tree-1', prompt: 'an old oak tree', group: 'tree', variant: 1, seed: 7 },
      { id: 'tree-2', prompt: 'an old oak tree', group: 'tree', variant: 2, seed: 8 },
    ];
    const started = await startTestBatch(env, batchId, items);
    await started.handle.result();
    dir = started.outDir;
    manifest = readManifest(dir);
  });

  it('is written with the manifest at the end of the batch', () => {
    expect(manifest.counts).toMatchObject({ succeeded: 5, failed: 1 });
    expect(manifest.items.find((e) => e.id === 'battle')?.prompts).toHaveLength(2);
    expect(fs.existsSync(batchFolder(dir).gallery)).toBe(true);
  });

  it('shows every succeeded image, the counts, the failure reasons and the simplified prompts', async () => {
    const page = await open(batchFolder(dir).gallery);
    const succeeded = manifest.items.filter((e) => e.status === 'succeeded').length;
    expect(await loadedImages(page)).toBe(succeeded);
    expect(await page.locator('[data-count="total"] dd').textContent()).toBe('6');
    expect(await page.locator('[data-count="succeeded"] dd').textContent()).toBe(String(succeeded));
    expect(await page.locator('[data-count="failed"] dd').textContent()).toBe('1');
    // One page: no pager.
    expect(await page.locator('#pager-top').isVisible()).toBe(false);

    const bad = manifest.items.find((e) => e.id === 'bad')!;
    expect(bad.error).toBeTruthy();
    expect(await page.locator('[data-id="bad"] .reason').textContent()).toBe(bad.error);
    expect(await page.locator('[data-id="bad"] img').count()).toBe(0);

    const battle = page.locator('[data-id="battle"]');
    await expect(battle.locator('.simplified-mark').isVisible()).resolves.toBe(true);
    expect(await battle.locator('.prompts li').allTextContents()).toEqual(
      manifest.items.find((e) => e.id === 'battle')!.prompts,
    );
    expect(await page.locator('.simplified-mark').count()).toBe(1);

    const fox = await page.locator('[data-id="fox"] .meta').textContent();
    expect(fox).toMatch(/seed 42/);
    expect(fox).toMatch(/512×512/);
    expect(fox).toMatch(/volcengine/);

    // The variation group's images side by side, in one card.
    const group = page.locator('section.group[data-group="tree"]');
    expect(await group.locator('.item').evaluateAll((els) => els.map((e) => e.dataset.id))).toEqual([
      'tree-1',
      'tree-2',
    ]);
    const [a, b] = await group.locator('.item').evaluateAll((els) => els.map((e) => e.getBoundingClientRect()));
    expect(a.top).toBe(b.top);
    expect(b.left).toBeGreaterThan(a.left);
    expect((page as Page & { errors: string[] }).errors).toEqual([]);
    await page.close();
  });

  it('filters: failed, simplified, cancelled, all', async () => {
    const page = await open(batchFolder(dir).gallery);
    await page.click('[data-filter="failed"]');
    expect(await shownIds(page)).toEqual(['bad']);
    await page.click('[data-filter="simplified"]');
    expect(await shownIds(page)).toEqual(['battle']);
    await page.click('[data-filter="cancelled"]');
    expect(await shownIds(page)).toEqual([]);
    expect(await page.locator('#grid .empty').count()).toBe(1);
    await page.click('[data-filter="all"]');
    expect(await shownIds(page)).toHaveLength(6);
    expect(await page.getAttribute('[data-filter="all"]', 'aria-pressed')).toBe('true');
    await page.close();
  });

  it('`imagebatch report` writes it again and prints its path; a missing folder is exit 2', async () => {
    fs.rmSync(batchFolder(dir).gallery);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await galleryReportCommand(batchId, { out: env.outDir })).toBe(0);
      expect(log).toHaveBeenCalledWith(batchFolder(dir).gallery);
    } finally {
      log.mockRestore();
    }
    const page = await open(batchFolder(dir).gallery);
    expect(await loadedImages(page)).toBe(5);
    await page.close();
    await expect(galleryReportCommand('no-such-batch', { out: env.outDir })).rejects.toThrow(UsageError);
    await expect(galleryReportCommand('../x', { out: env.outDir })).rejects.toThrow(UsageError);
  });
});

describe('gallery of a synthetic manifest', () => {
  const folder = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ib-gallery-'));
  const entry = (id: string, over: Partial<ManifestEntry> = {}): ManifestEntry => ({
    id,
    status: 'succeeded',
    file: `${id}.png`,
    provider: 'dashscope',
    attempts: 1,
    prompts: [`prompt of ${id}`],
    ...over,
  });

  it('shows cancelled items with their reason, and hostile text as text', async () => {
    const dir = folder();
    const hostile = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script></script>';
    writeGalleryFile(dir, {
      batchId: 's',
      writtenAt: new Date().toISOString(),
      counts: { succeeded: 0, failed: 1, cancelled: 2, skipped: 0 },
      items: [
        entry('c1', { status: 'cancelled', file: null, error: 'cancelled by imagebatch cancel' }),
        entry('c2', { status: 'cancelled', file: null, prompts: [], error: 'batch cancelled before the item started' }),
        entry('h', { status: 'failed', file: null, prompts: [hostile, 'tame'], error: hostile }),
      ],
    });
    const page = await open(batchFolder(dir).gallery);
    await page.click('[data-filter="cancelled"]');
    expect(await shownIds(page)).toEqual(['c1', 'c2']);
    expect(await page.locator('#grid .reason').allTextContents()).toEqual([
      'cancelled by imagebatch cancel',
      'batch cancelled before the item started',
    ]);
    await page.click('[data-filter="failed"]');
    expect(await page.locator('[data-id="h"] .reason').textContent()).toBe(hostile);
    expect(await page.locator('[data-id="h"] .prompts li').first().textContent()).toBe(hostile);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).pwned)).toBeUndefined();
    expect(await page.locator('#grid img, #grid script').count()).toBe(0);
    await page.close();
  });

  it('of 10,000 items renders one page of 200, not 10,000 nodes, and pages on', async () => {
    const dir = folder();
    const items = Array.from({ length: 10_000 }, (_, i) =>
      i % 50 === 49
        ? entry(`i-${i + 1}`, { status: 'failed', file: null, error: `failure ${i + 1}` })
        : entry(`i-${i + 1}`, { prompts: i % 100 === 0 ? ['long prompt', 'short'] : [`prompt ${i + 1}`] }),
    );
    writeGalleryFile(dir, {
      batchId: 'big',
      writtenAt: new Date().toISOString(),
      counts: { succeeded: 9800, failed: 200, cancelled: 0, skipped: 0 },
      items,
    });
    const page = await open(batchFolder(dir).gallery);
    expect(await page.locator('#grid .item').count()).toBe(200);
    expect(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).document.getElementsByTagName('*').length),
    ).toBeLessThan(3000);
    expect(await page.locator('#pager-top .page-of').textContent()).toBe('page 1 of 50');
    expect(await page.locator('#pager-top').isVisible()).toBe(true);
    expect(await page.locator('[data-count="total"] dd').textContent()).toBe('10000');

    await page.locator('#pager-top .next').click();
    expect((await shownIds(page))[0]).toBe('i-201');
    await page.click('[data-filter="failed"]');
    expect(await page.locator('#grid .item').count()).toBe(200);
    expect(await page.locator('#pager-top .page-of').textContent()).toBe('page 1 of 1');
    await page.click('[data-filter="simplified"]');
    expect(await page.locator('#grid .item').count()).toBe(100);
    await page.close();
  });
});

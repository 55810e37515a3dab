// The Temporal Web UI (served by the run's dev server) in headless Chromium: find a batch by its
// ImageBatchId and see its image children.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { type ImageEnv, startImageEnv, waitFor } from '../helpers/image-env';
import { startTestBatch } from '../helpers/batch';
import { closeConnections } from '../helpers/temporal';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let env: ImageEnv;
let browser: Browser;

beforeAll(async () => {
  env = await startImageEnv({ latencyMs: 50 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await env.stop();
  await closeConnections();
});

describe('Web UI', () => {
  it('lists a batch and its image children by ImageBatchId', async () => {
    const batchId = `ui-${process.pid}`;
    const items = [1, 2, 3].map((i) => ({ id: `pic-${i}`, prompt: `picture ${i}` }));
    const { handle } = await startTestBatch(env, batchId, items, { searchAttribute: true });
    expect((await handle.result()).succeeded).toBe(3);

    const page = await browser.newPage();
    const query = encodeURIComponent(`ImageBatchId="${batchId}"`);
    await page.goto(`${inject('temporalUiUrl')}/namespaces/default/workflows?query=${query}`);
    for (const id of [
      `batch-${batchId}`,
      `batch-${batchId}/pic-1`,
      `batch-${batchId}/pic-2`,
      `batch-${batchId}/pic-3`,
    ]) {
      await page
        .getByText(id, { exact: true })
        .first()
        .waitFor({ state: 'visible', timeout: 30_000 })
        .catch(async (err: Error) => {
          fs.writeFileSync(path.join(env.outDir, 'ui.png'), await page.screenshot());
          throw new Error(`${id} not shown in the Web UI (screenshot in ${env.outDir}/ui.png): ${err.message}`);
        });
    }
    await page.screenshot({ path: path.join(env.outDir, 'web-ui.png') });
    await page.close();
  });

  it("shows a hostile prompt as text in an image's summary and details", async () => {
    const batchId = `ui-hostile-${process.pid}`;
    const prompt = 'a cat [click me](https://evil.example/x) <iframe src="https://evil.example/f"></iframe> **loud**';
    const { handle } = await startTestBatch(env, batchId, [{ id: 'h', prompt }]);
    expect((await handle.result()).succeeded).toBe(1);
    const page = await browser.newPage();
    await page.goto(
      `${inject('temporalUiUrl')}/namespaces/default/workflows/${encodeURIComponent(`batch-${batchId}/h`)}`,
    );
    // The summary and the last details (item id, task, prompt) are on the User Metadata tab, each rendered from
    // Markdown inside a frame of its own.
    await page.getByText('User Metadata', { exact: true }).first().click({ timeout: 30_000 });
    const shown = async () => {
      const texts = await Promise.all(
        page.frames().map((f) =>
          f
            .locator('body')
            .innerText()
            .catch(() => ''),
        ),
      );
      return texts.filter((t) => t.includes('click me')).length >= 2;
    };
    await waitFor(shown, 'the summary and details to render').catch(async (err: Error) => {
      fs.writeFileSync(path.join(env.outDir, 'ui-hostile.png'), await page.screenshot());
      throw new Error(`${err.message} (screenshot in ${env.outDir}/ui-hostile.png)`);
    });
    for (const frame of page.frames()) {
      expect(await frame.locator('iframe').count()).toBe(frame === page.mainFrame() ? 2 : 0);
      expect(await frame.locator('a[href*="evil.example"]').count()).toBe(0);
      expect(await frame.locator('strong', { hasText: 'loud' }).count()).toBe(0);
    }
    await page.close();
  });
});

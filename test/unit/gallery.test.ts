// The gallery page builder: the data is embedded so that no prompt can end its script element, the counts and
// items arrive as the manifest has them, the page's script writes only text, and writeManifest writes the page
// beside the manifest without ever failing the batch for it.
import { describe, expect, it, vi } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { createBatchActivities } from '../../src/activities/batch';
import { buildProgram } from '../../src/client/cli';
import { UsageError } from '../../src/client/exit-codes';
import { openerFor } from '../../src/client/open-file';
import { batchFolder, isBatchFile } from '../../src/output/batch-folder';
import { buildGallery, writeGalleryFile } from '../../src/output/gallery';
import { writeManifestFile } from '../../src/output/manifest';
import { galleryData } from '../../src/output/gallery-data';
import { GALLERY_SCRIPT } from '../../src/output/gallery-script';
import type { Manifest, ManifestEntry } from '../../src/output/manifest';

const HOSTILE = 'a cat </script><script>alert(1)</script> <!-- <img src=x onerror=alert(2)> & \u2028 end';

function entry(id: string, over: Partial<ManifestEntry> = {}): ManifestEntry {
  return {
    id,
    status: 'succeeded',
    file: `${id}.png`,
    provider: 'volcengine',
    attempts: 1,
    prompts: [`p ${id}`],
    ...over,
  };
}

const manifest: Manifest = {
  batchId: 'b1',
  startedAt: '2025-01-01T10:00:00.000Z',
  writtenAt: '2025-01-01T10:02:05.000Z',
  counts: { succeeded: 3, failed: 1, cancelled: 1, skipped: 1 },
  items: [
    entry('ok', { model: 'jimeng_t2i_v40', seed: 42, width: 1280, height: 720 }),
    entry('hostile', { prompts: [HOSTILE, 'a cat'], attempts: 2 }),
    entry('skipped', { skipped: true }),
    entry('bad', { status: 'failed', file: null, error: 'moderation rejected the prompt', errorType: 'Moderation' }),
    entry('gone', { status: 'cancelled', file: null, prompts: [], prompt: 'never ran', error: 'batch cancelled' }),
  ],
};

/** The text of the page's data element, as the browser hands it to JSON.parse. */
function embedded(page: string): string {
  const m = /<script type="application\/json" id="gallery-data">([\s\S]*?)<\/script>/.exec(page);
  if (!m) throw new Error('no data element');
  return m[1];
}

describe('gallery page', () => {
  it('embeds the data so that no prompt can close its script element or open a comment', () => {
    const page = buildGallery(manifest);
    const text = embedded(page);
    expect(text).not.toMatch(/[<>&\u2028]/);
    // Exactly the data element and the page's own script end a script: the prompt did not add one.
    expect(page.match(/<\/script>/gi)).toHaveLength(2);
    expect(page).not.toContain('alert(1)</script>');
    // And it reads back whole: the prompt is intact as data.
    const data = JSON.parse(text);
    expect(data).toEqual(JSON.parse(JSON.stringify(galleryData(manifest))));
    expect(data.items[1].prompts[0]).toBe(HOSTILE);
  });

  it('carries the counts, timings and what each item shows', () => {
    const data = galleryData(manifest);
    expect(data).toMatchObject({
      batchId: 'b1',
      startedAt: manifest.startedAt,
      writtenAt: manifest.writtenAt,
      counts: { succeeded: 3, failed: 1, cancelled: 1, skipped: 1 },
    });
    expect(data.items.map((i) => i.id)).toEqual(['ok', 'hostile', 'skipped', 'bad', 'gone']);
    expect(data.items[0]).toEqual({
      id: 'ok',
      status: 'succeeded',
      file: 'ok.png',
      prompts: ['p ok'],
      provider: 'volcengine',
      model: 'jimeng_t2i_v40',
      seed: 42,
      width: 1280,
      height: 720,
      attempts: 1,
    });
    expect(data.items[3]).toMatchObject({ error: 'moderation rejected the prompt', errorType: 'Moderation' });
    // An item that never ran still shows the prompt it asked for.
    expect(data.items[4].prompts).toEqual(['never ran']);
  });

  it('links images by URL paths relative to the page, also from a manifest written on Windows', () => {
    const data = galleryData({ ...manifest, items: [entry('w', { file: 'sub\\w.png' })] });
    expect(data.items[0].file).toBe('sub/w.png');
  });

  it('renders data as text only, and its policy runs only its own script', () => {
    expect(GALLERY_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|fetch\(/);
    const page = buildGallery(manifest);
    const hash = createHash('sha256').update(GALLERY_SCRIPT).digest('base64');
    expect(page).toContain(`script-src 'sha256-${hash}'`);
    expect(page).toContain(`<script>${GALLERY_SCRIPT}</script>`);
    expect(page).not.toMatch(/<(link|iframe)\b|src="http|href="http/);
  });

  it('is a batch file, not an image, of the batch folder', () => {
    expect(isBatchFile('index.html')).toBe(true);
    expect(batchFolder('/o/b').gallery).toBe(path.join('/o/b', 'index.html'));
  });
});

describe('writeManifest writes the gallery', () => {
  const input = (outDir: string) => ({
    outDir,
    batchId: 'b',
    items: { kind: 'inline' as const, items: [{ id: 'a', prompt: 'p', width: 512, height: 512 }] },
    cancelled: true,
    provider: 'volcengine' as const,
    startedAt: '2025-01-01T10:00:00.000Z',
  });

  it('beside manifest.json, from the same manifest', async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-gallery-'));
    await new MockActivityEnvironment().run(createBatchActivities().writeManifest, input(outDir));
    const m = JSON.parse(fs.readFileSync(batchFolder(outDir).manifest, 'utf8')) as Manifest;
    expect(m.startedAt).toBe('2025-01-01T10:00:00.000Z');
    const data = JSON.parse(embedded(fs.readFileSync(batchFolder(outDir).gallery, 'utf8')));
    expect(data).toEqual(JSON.parse(JSON.stringify(galleryData(m))));
    expect(data.items[0]).toMatchObject({ id: 'a', status: 'cancelled', width: 512, height: 512 });
    expect(fs.readdirSync(outDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('and a gallery that cannot be written is a warning, not a failed batch', async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-gallery-'));
    fs.mkdirSync(batchFolder(outDir).gallery); // a folder in the way of index.html
    const warnings: LogEntry[] = [];
    const logger = new DefaultLogger('WARN', (e) => warnings.push(e));
    const target = (await new MockActivityEnvironment({}, { logger }).run(
      createBatchActivities().writeManifest,
      input(outDir),
    )) as string;
    expect(target).toBe(batchFolder(outDir).manifest);
    expect(fs.existsSync(target)).toBe(true);
    expect(warnings.map((w) => w.message).join('\n')).toMatch(/gallery \(index\.html\) .* was not written/);
    expect(fs.readdirSync(outDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writeGalleryFile replaces a link at index.html instead of writing through it', () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-gallery-'));
    const victim = path.join(outDir, 'victim.txt');
    fs.writeFileSync(victim, 'keep');
    fs.symlinkSync(victim, batchFolder(outDir).gallery);
    writeGalleryFile(outDir, manifest);
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep');
    expect(fs.lstatSync(batchFolder(outDir).gallery).isFile()).toBe(true);
  });
});

describe('imagebatch report', () => {
  it('writes the page of <out>/<batch> from its manifest and prints its path; no manifest is a usage error', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-report-'));
    await writeManifestFile(path.join(out, 'b1'), manifest);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await buildProgram().parseAsync(['node', 'imagebatch', 'report', 'b1', '--out', out]);
      expect(process.exitCode).toBe(0);
      expect(log).toHaveBeenCalledWith(path.join(out, 'b1', 'index.html'));
    } finally {
      log.mockRestore();
      process.exitCode = undefined;
    }
    expect(embedded(fs.readFileSync(path.join(out, 'b1', 'index.html'), 'utf8'))).toContain('"batchId":"b1"');
    fs.mkdirSync(path.join(out, 'running'));
    await expect(buildProgram().parseAsync(['node', 'imagebatch', 'report', 'running', '--out', out])).rejects.toThrow(
      /no manifest yet/,
    );
    await expect(buildProgram().parseAsync(['node', 'imagebatch', 'report', 'gone', '--out', out])).rejects.toThrow(
      UsageError,
    );
  });

  it('finds the opener of the platform, and says none when xdg-open is not on PATH', () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-bin-'));
    expect(openerFor('/x/index.html', 'linux', { PATH: bin })).toBeUndefined();
    fs.writeFileSync(path.join(bin, 'xdg-open'), '#!/bin/sh\n', { mode: 0o755 });
    expect(openerFor('/x/index.html', 'linux', { PATH: bin })).toEqual({
      command: 'xdg-open',
      args: ['/x/index.html'],
    });
    expect(openerFor('C:\\o\\index.html', 'win32', {})?.command).toBe('cmd');
  });
});

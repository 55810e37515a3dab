// A provider whose errors echo the request's credentials (the Authorization header, the key itself), behind a real
// `run` (dev server, the CLI as a process): the item fails with the reason, and the key appears nowhere the batch
// writes or keeps: its result, manifest, results log, gallery, nor any workflow's history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cliEnv, runCli } from '../helpers/cli';
import { waitFor, walk } from '../helpers/image-env';
import { closeConnections, testClient } from '../helpers/temporal';

const KEYS = { fal: 'fal-id-0042:fal-secret-0123456789', openai: 'sk-echoed-secret-0123456789' };

let server: http.Server;
let base: string;
let dir: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    const auth = String(req.headers.authorization ?? '');
    const key = auth.replace(/^(Bearer|Key) /, '');
    const said = `Authorization: ${auth} refused; key ${key} is not valid`;
    // Both providers' error shapes in one body: fal reads `detail`, OpenAI `error`.
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ detail: said, error: { code: 'invalid_api_key', message: said } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-echo-'));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await closeConnections();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a provider that echoes the credentials in its errors', () => {
  for (const provider of ['fal', 'openai'] as const) {
    it(`${provider}: the item fails with the reason, and the key is nowhere`, async () => {
      const items = path.join(dir, `${provider}.txt`);
      fs.writeFileSync(items, 'a paper boat\n');
      const id = `echo-${provider}-${Date.now()}`;
      const env = cliEnv({
        IMAGEBATCH_LOG_LEVEL: 'WARN',
        ...(provider === 'fal'
          ? { FAL_KEY: KEYS.fal, FAL_QUEUE_URL: base }
          : { OPENAI_API_KEY: KEYS.openai, OPENAI_BASE_URL: base }),
      });
      const args = ['run', items, '--out', dir, '--batch-id', id, '--provider', provider, '--json'];
      const r = await runCli([...args, '--poll-interval', '0.2'], { env });
      expect(r.code, r.stderr).toBe(1);
      const doc = JSON.stringify(JSON.parse(r.stdout));
      expect(doc).toMatch(/refused/);
      expect(doc).toContain('[redacted]');

      const secret = KEYS[provider];
      const secretPart = secret.slice(-10);
      const batchDir = path.join(dir, id);
      const files = walk(batchDir);
      expect(files).toEqual(expect.arrayContaining(['manifest.json', 'index.html']));
      for (const f of files) {
        const text = fs.readFileSync(path.join(batchDir, f), 'latin1');
        expect(text, f).not.toContain(secretPart);
      }
      expect(r.stdout + r.stderr).not.toContain(secretPart);
      // Every history of the batch: the batch's and its images'.
      const client = await testClient();
      // Visibility lists the children a moment late: until the batch and its one image are both there.
      const runs = await waitFor(async () => {
        const found = [];
        for await (const w of client.workflow.list({ query: `WorkflowId STARTS_WITH "batch-${id}"` })) found.push(w);
        return found.length >= 2 ? found : undefined;
      }, 'the batch and its image in visibility');
      const histories = await Promise.all(
        runs.map(async (w) => JSON.stringify(await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory())),
      );
      expect(histories.length).toBeGreaterThan(0);
      for (const h of histories) expect(h).not.toContain(secretPart);
    });
  }
});

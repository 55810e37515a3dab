// Credentials never reach workflow inputs, results, histories, logs or the manifest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { cliEnv, runCli } from '../helpers/cli';
import { closeConnections, testClient } from '../helpers/temporal';
import { walk } from '../helpers/image-env';
import { childrenOf } from '../helpers/batch';

const SECRETS = {
  volcAccessKey: 'AKLTc2VjcmV0LWFjY2Vzcy1rZXktaWQ',
  volcSecretKey: 'TVRJek5EVTJOemc1TUdGaVkyUmxabWRv-secret',
  dashscopeKey: 'sk-8f3a9c2e7d1b4f6a90e5c3d2b1a0f9e8',
};
let sim: ProviderSimulator;
beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 100, moderationWords: ['bloody'], ...SECRETS });
});
afterAll(async () => {
  await sim.close();
  await closeConnections();
});

/** The text and every base64 payload in it, decoded: a secret inside a payload shows either way. */
function expand(text: string): string {
  const decoded = [...text.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) =>
    Buffer.from(m[1], 'base64').toString('utf8'),
  );
  return [text, ...decoded].join('\n');
}

function expectNoSecret(where: string, text: string) {
  for (const [name, value] of Object.entries(SECRETS)) {
    expect(text.includes(value), `${name} found in ${where}`).toBe(false);
  }
}

describe('secrets', () => {
  it('appear in no history, log line, output file or manifest', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-secrets-'));
    const items = path.join(dir, 'items.jsonl');
    fs.writeFileSync(
      items,
      [
        { id: 'v1', prompt: 'a harbour', provider: 'volcengine' },
        { id: 'v2', prompt: 'a bloody sky', provider: 'volcengine' },
        { id: 'd1', prompt: 'a meadow', provider: 'dashscope' },
        { id: 'd2', prompt: 'a bloody moon', provider: 'dashscope' },
      ]
        .map((i) => JSON.stringify(i))
        .join('\n'),
    );
    const id = `secrets-${process.pid}`;
    const env = cliEnv({
      ...sim.env(),
      VOLC_ACCESSKEY: SECRETS.volcAccessKey,
      VOLC_SECRETKEY: SECRETS.volcSecretKey,
      DASHSCOPE_API_KEY: SECRETS.dashscopeKey,
      IMAGEBATCH_LOG_LEVEL: 'DEBUG',
    });
    const r = await runCli(
      ['run', items, '--out', path.join(dir, 'out'), '--batch-id', id, '--poll-interval', '0.2', '--json'],
      { env },
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).counts).toMatchObject({ succeeded: 4 });
    expect(sim.stats().submissions).toBeGreaterThanOrEqual(4);
    expectNoSecret('CLI stdout', r.stdout);
    expectNoSecret('CLI stderr (DEBUG logs)', r.stderr);
    expect(r.stderr.length).toBeGreaterThan(1000); // the logs really were verbose

    const client = await testClient();
    const ids = [`batch-${id}`, ...(await childrenOf(client, `batch-${id}`))];
    expect(new Set(ids).size).toBe(5);
    for (const wid of new Set(ids)) {
      const history = historyToJSON(await client.workflow.getHandle(wid).fetchHistory());
      expectNoSecret(`history of ${wid}`, expand(history));
    }
    const written = walk(path.join(dir, 'out'));
    // The four images and the manifest at least: the loop below reads the real files.
    expect(written.filter((f) => f.endsWith('.png'))).toHaveLength(4);
    expect(written).toContain(path.join(id, 'manifest.json'));
    for (const f of written) {
      expectNoSecret(f, fs.readFileSync(path.join(dir, 'out', f), 'latin1'));
    }
  });
});

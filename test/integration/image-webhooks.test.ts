// `--webhook-events image,batch` against the dev server, the simulator and a receiver on loopback: each image is
// POSTed as it ends (the same JSON as its `imagebatch events` line), signed as the batch's delivery is, under an id
// the same on every try; the batch's delivery comes last; a receiver that refuses an image's first POST gets it
// again under the same id; continue-as-new loses no image's delivery; a bad --webhook-events starts nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { verifySignature } from '../../src/activities/webhook';
import { makeItems, startTestBatch } from '../helpers/batch';
import { cliEnv, runCli } from '../helpers/cli';
import { maybeRecordHistory } from '../helpers/histories';
import { type ImageEnv, startImageEnv } from '../helpers/image-env';
import { closeConnections } from '../helpers/temporal';

const SECRET = 'image-webhook-secret';

interface Arrival {
  id: string;
  event: string;
  signed: boolean;
  body: Record<string, unknown>;
  /** What the receiver answered. */
  status: number;
}

/** A receiver on loopback that records every POST; `refuseFirst(match)`: the first POST of each matching id: 503. */
async function startReceiver() {
  const arrivals: Arrival[] = [];
  let refuse: (id: string) => boolean = () => false;
  const refused = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const id = String(req.headers['x-imagebatch-delivery']);
      const status = refuse(id) && !refused.has(id) ? 503 : 204;
      if (status === 503) refused.add(id);
      arrivals.push({
        id,
        event: String(req.headers['x-imagebatch-event']),
        signed: verifySignature(raw, req.headers['x-imagebatch-signature'] as string | undefined, SECRET),
        body: JSON.parse(raw.toString()) as Record<string, unknown>,
        status,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    arrivals,
    refuseFirst: (match: (id: string) => boolean) => void (refuse = match),
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

let env: ImageEnv;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  // The in-process worker's webhook activities read the secret from this process's environment.
  process.env.IMAGEBATCH_WEBHOOK_SECRET = SECRET;
  env = await startImageEnv({ latencyMs: 100, moderationWords: ['doomed'] });
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  await env.stop();
  await closeConnections();
  delete process.env.IMAGEBATCH_WEBHOOK_SECRET;
});

const cli = (args: string[]) =>
  runCli(args, { env: cliEnv({ ...env.sim.env(), IMAGEBATCH_WEBHOOK_SECRET: SECRET, IMAGEBATCH_LOG_LEVEL: 'WARN' }) });
const itemsFile = (name: string, lines: object[]) => {
  const file = path.join(env.outDir, name);
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
};
const mine = (prefix: string) => receiver.arrivals.filter((a) => a.id.startsWith(prefix));
const withoutTime = ({ endedAt: _endedAt, ...rest }: Record<string, unknown>) => rest;

describe('--webhook-events', () => {
  it('image,batch: one signed delivery per image as an events line, a refused one again under its id, the batch last', async () => {
    const id = `imghooks-${Date.now()}`;
    const items = [
      ...makeItems(5, 'pic'),
      { id: 'bad', prompt: 'doomed' }, // moderation refuses it: a failed image is delivered too
    ];
    const file = itemsFile(`${id}.jsonl`, items);
    // The first POST of every image is refused: each comes again (after a second's backoff, so the last image's comes
    // after the batch has ended: its own delivery must wait for it). The id names the batch's first run, known later.
    receiver.refuseFirst((d) => d.startsWith(`batch-${id}/`) && d.split('/').length === 3);
    const hook = ['--webhook', receiver.url, '--webhook-events', 'image,batch'];
    const r = await cli(['run', file, '--out', env.outDir, '--batch-id', id, '--poll-interval', '0.2', ...hook]);
    expect(r.code, r.stderr).toBe(1); // 'bad' failed
    const handle = env.client.workflow.getHandle(`batch-${id}`);
    // The replay tests replay it: the image deliveries' path (behind its patch) is deterministic.
    await maybeRecordHistory(handle, 'batch-image-webhooks');
    const d = await handle.describe();
    const prefix = `batch-${id}/${d.raw.workflowExecutionInfo?.firstRunId}`;

    const got = mine(prefix);
    expect(got.every((a) => a.signed)).toBe(true);
    const images = got.filter((a) => a.event === 'image');
    // Every image twice under the same id: refused first, then delivered.
    for (const item of items)
      expect(images.filter((a) => a.id === `${prefix}/${item.id}`).map((a) => a.status)).toEqual([503, 204]);
    expect(images).toHaveLength(2 * items.length);
    // The batch's own delivery after every image's, once.
    expect(got.filter((a) => a.event === 'batch').map((a) => a.id)).toEqual([prefix]);
    expect(got.at(-1)).toMatchObject({ id: prefix, event: 'batch', body: { batchId: id, succeeded: 5, failed: 1 } });

    // Each image's body is its `imagebatch events` line (the time is the workflow's, the line's the signal's).
    const events = await cli(['events', id]);
    const lines = events.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const byItem = new Map(lines.filter((l) => l.type === 'image').map((l) => [l.itemId, withoutTime(l)]));
    expect(byItem.size).toBe(6);
    for (const a of images) expect(withoutTime(a.body)).toEqual(byItem.get(a.body.itemId));
    expect(byItem.get('pic-1')).toMatchObject({ status: 'succeeded', sha256: expect.any(String) });
    expect(byItem.get('bad')).toMatchObject({ status: 'failed' });
  });

  it('image alone: every image delivered across continue-as-new, and no batch delivery', async () => {
    const { handle, batchId } = await startTestBatch(env, `imgcan-${Date.now()}`, makeItems(8, 'can'), {
      concurrency: 2,
      continueAsNewAfterEvents: 40,
      webhook: receiver.url,
      webhookEvents: ['image'],
    });
    const summary = await handle.result();
    expect(summary).toMatchObject({ succeeded: 8 });
    const d = await handle.describe();
    const firstRunId = d.raw.workflowExecutionInfo?.firstRunId;
    expect(firstRunId).not.toBe(d.runId); // it did continue as new
    const prefix = `batch-${batchId}/${firstRunId}`;
    const got = mine(prefix);
    // At least once: a delivery running at continue-as-new is started again by the next run, under the same id.
    expect(new Set(got.map((a) => a.id))).toEqual(new Set(makeItems(8, 'can').map((i) => `${prefix}/${i.id}`)));
    expect(got.every((a) => a.event === 'image' && a.signed)).toBe(true);
  });

  it('refuses an unknown event, and --webhook-events without --webhook: exit 2, nothing started', async () => {
    const file = itemsFile('refused.jsonl', makeItems(1, 'x'));
    const id = `imgbad-${Date.now()}`;
    const bad = await cli(
      ['run', file, '--out', env.outDir, '--batch-id', id, '--webhook', receiver.url].concat([
        '--webhook-events',
        'image,done',
      ]),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--webhook-events.*'done'/);
    const alone = await cli(['start', file, '--out', env.outDir, '--batch-id', id, '--webhook-events', 'image']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/--webhook-events needs --webhook/);
    await expect(env.client.workflow.getHandle(`batch-${id}`).describe()).rejects.toThrow(/not found/i);
  });
});

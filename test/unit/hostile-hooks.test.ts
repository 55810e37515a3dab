// Completion hooks against hostile ends, without a server: a webhook receiver that answers 200 and then streams a body
// that never ends (the delivery is done at the status, the body is not read).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCompletionActivities } from '../../src/activities/completion';
import type { BatchSummary } from '../../src/shared/batch-types';

const summary: BatchSummary = {
  batchId: 'b1',
  total: 1,
  succeeded: 1,
  failed: 0,
  cancelled: 0,
  skipped: 0,
  manifest: '/out/b1/manifest.json',
  status: 'completed',
  outcome: 'completed: 1 of 1 succeeded',
};

describe('a webhook receiver answering 200 with an endless body', () => {
  let server: http.Server;
  let url: string;
  let requests = 0;
  /** Resolves with the bytes of body the receiver had sent when the worker hung up. */
  let hungUp!: Promise<number>;
  beforeAll(async () => {
    let onHangUp!: (n: number) => void;
    hungUp = new Promise((r) => (onHangUp = r));
    server = http.createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const piece = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      let open = true;
      res.on('close', () => {
        open = false;
        onHangUp(sent);
      });
      // As fast as the worker reads, for ever: only a worker that stops reading ends it.
      const pump = () => {
        while (open && res.write(piece)) sent += piece.length;
        if (open) res.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });

  it('is delivered once at the status, and the body is left unread (the worker hangs up)', async () => {
    const acts = createCompletionActivities({ env: {} });
    await new MockActivityEnvironment().run(acts.postWebhook, { url, summary, deliveryId: 'd' });
    expect(requests).toBe(1);
    // The receiver saw the connection closed by the worker, which it only does when it stops reading.
    expect(await hungUp).toBeGreaterThanOrEqual(0);
  });
});

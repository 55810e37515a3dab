// A production cluster's connection settings from a temporal.toml profile (and TEMPORAL_GRPC_META_*) reach the wire:
// a plaintext HTTP/2 listener stands in for the frontend and records the headers of the first call of the client
// (every command) and of the worker's connection.
import fs from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connectClient, connectWorker, loadTarget, TemporalUnreachable } from '../../src/temporal/connection';

let server: http2.Http2Server;
let address: string;
const seen: http2.IncomingHttpHeaders[] = [];
const sessions = new Set<http2.ServerHttp2Session>();

beforeEach(async () => {
  seen.length = 0;
  // Answers every gRPC call with UNAUTHENTICATED once its headers are recorded.
  server = http2.createServer();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    seen.push(headers);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16' }, { endStream: true });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  vi.unstubAllEnvs();
  // The failed client's channel may stay connected; Node 22's close() waits for open sessions (24's does not).
  for (const session of sessions) session.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function profileFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-envconfig-'));
  const file = path.join(dir, 'temporal.toml');
  fs.writeFileSync(
    file,
    [
      '[profile.prod]',
      `address = "${address}"`,
      'namespace = "images-prod"',
      '[profile.prod.grpc_meta]',
      'x-tenant = "team-a"',
      'x-route-to = "cell-7"',
    ].join('\n'),
  );
  return file;
}

describe('connection settings from envconfig', () => {
  beforeEach(() => {
    vi.stubEnv('TEMPORAL_CONFIG_FILE', profileFile());
    vi.stubEnv('TEMPORAL_PROFILE', 'prod');
    vi.stubEnv('TEMPORAL_GRPC_META_X_FROM_ENV', 'yes');
  });

  it('loads the profile: address, namespace and every gRPC metadata header', () => {
    const t = loadTarget();
    expect(t.address).toBe(address);
    expect(t.namespace).toBe('images-prod');
    expect(t.options.metadata).toEqual({ 'x-tenant': 'team-a', 'x-route-to': 'cell-7', 'x-from-env': 'yes' });
  });

  it("sends the profile's headers on the client's calls", async () => {
    await expect(connectClient(loadTarget())).rejects.toThrow(TemporalUnreachable);
    expect(seen.length).toBeGreaterThan(0);
    for (const h of seen)
      expect(h).toMatchObject({ 'x-tenant': 'team-a', 'x-route-to': 'cell-7', 'x-from-env': 'yes' });
  });

  it("sends the profile's headers on the worker's connection", async () => {
    await expect(connectWorker(loadTarget())).rejects.toThrow(TemporalUnreachable);
    expect(seen.length).toBeGreaterThan(0);
    for (const h of seen)
      expect(h).toMatchObject({ 'x-tenant': 'team-a', 'x-route-to': 'cell-7', 'x-from-env': 'yes' });
  });
});

// docker-compose.yml without a Docker engine: Debian's docker-compose v1 validates and interpolates it (`config`), its
// YAML is read with the PyYAML that docker-compose itself runs on, and what the services would run is checked here:
// their commands against the CLI, the addresses and the environment they give each other, and the simulator started
// with the very arguments of its service, whose image links must name the service the worker reaches it by.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { providersFromEnv, taskClient } from '../../src/providers';
import { SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';
import { freePort } from '../../src/temporal/dev-server';
import { BIN, spawnCli } from '../helpers/cli';
import { waitFor } from '../helpers/image-env';

const ROOT = path.resolve(__dirname, '../..');

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: { published: number; target: number }[];
}

function composeConfig(): { stdout: string; stderr: string; status: number | null; error?: Error } {
  // Interpolated as on a machine without a .env: the defaults are what is checked.
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(VOLC|DASHSCOPE|TEMPORAL)_/.test(k)) delete env[k];
  return spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: ROOT, encoding: 'utf8', env });
}

let parsed: Record<string, Service> | undefined;

/** The services as `docker-compose config` has them (read once: it takes a second or two). */
function services(): Record<string, Service> {
  parsed ??= readServices();
  return parsed;
}

function readServices(): Record<string, Service> {
  const yaml = composeConfig().stdout;
  const r = spawnSync('python3', ['-c', 'import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin)))'], {
    input: yaml,
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { services: Record<string, Service> }).services;
}

const flag = (command: string[], name: string) => command[command.indexOf(name) + 1];

describe('docker-compose.yml', () => {
  it('is a valid compose file with the services the design names', () => {
    const r = composeConfig();
    expect(r.error).toBeUndefined();
    expect(r.stderr).not.toMatch(/ERROR/);
    expect(r.status).toBe(0);
    expect(Object.keys(services()).sort()).toEqual(
      ['postgresql', 'simulator', 'temporal', 'temporal-search-attributes', 'temporal-ui', 'worker'].sort(),
    );
  });

  it('runs imagebatch commands the CLI has (the image runs `node bin/imagebatch.js`)', () => {
    const s = services();
    for (const name of ['simulator', 'worker']) {
      const [command] = s[name].command!;
      const help = spawnSync(process.execPath, [BIN, command, '--help'], { encoding: 'utf8' });
      expect(help.status, `${name}: ${help.stderr}`).toBe(0);
      for (const f of s[name].command!.filter((a) => a.startsWith('--'))) expect(help.stdout, name).toContain(f);
    }
  });

  it('points the worker at the simulator by its service name, and at the server and the Web UI', () => {
    const s = services();
    const sim = s.simulator.command!;
    expect(flag(sim, '--host')).toBe('0.0.0.0');
    const publicUrl = new URL(flag(sim, '--public-url'));
    expect(publicUrl.hostname in s).toBe(true);
    expect(publicUrl.port).toBe(flag(sim, '--port'));
    const env = s.worker.environment!;
    expect(env.VOLCENGINE_VISUAL_ENDPOINT).toBe(publicUrl.origin);
    expect(env.DASHSCOPE_HTTP_BASE_URL).toBe(`${publicUrl.origin}/api/v1`);
    expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
    const ui = s['temporal-ui'].ports![0].published;
    expect(env.TEMPORAL_UI_URL).toBe(`http://localhost:${ui}`);
    expect(s.temporal.environment!.BIND_ON_IP).toBeUndefined();
  });

  it('registers every search attribute with an admin-tools image of the server version', () => {
    const s = services();
    const server = /^temporalio\/auto-setup:(\d+\.\d+\.\d+)$/.exec(s.temporal.image!)![1];
    // admin-tools tags name the server, tctl and CLI versions: temporalio/docker-compose pins them so.
    expect(s['temporal-search-attributes'].image).toMatch(
      new RegExp(`^temporalio/admin-tools:${server.replace(/\./g, '\\.')}-tctl-[\\d.]+-cli-[\\d.]+$`),
    );
    const script = s['temporal-search-attributes'].command!.join(' ');
    expect(script).toMatch(/search-attribute create/);
    for (const a of SEARCH_ATTRIBUTES) expect(script).toContain(a.name);
  });
});

describe("the simulator service's command", () => {
  let sim: ReturnType<typeof spawnCli> | undefined;
  afterAll(() => sim?.kill('SIGTERM'));

  it('hands out image links that name the service, not the address it listens on', async () => {
    const args = [...services().simulator.command!];
    const port = await freePort();
    args[args.indexOf('--port') + 1] = String(port);
    sim = spawnCli([...args, '--latency', '0']);
    await waitFor(() => /provider simulator on/.test(sim!.output.stdout) || sim!.exitCode !== null, 'the simulator');
    expect(sim.exitCode, sim.output.stderr).toBeNull();
    const local = `http://127.0.0.1:${port}`;
    const volcengine = taskClient(
      providersFromEnv({
        VOLCENGINE_VISUAL_ENDPOINT: local,
        VOLC_ACCESSKEY: 'AKSIMULATOR',
        VOLC_SECRETKEY: 'SKSIMULATOR',
      }),
      'volcengine',
    );
    const task = await volcengine.submit({ prompt: 'a harbour' });
    const status = await waitFor(async () => {
      const st = await volcengine.status(task);
      return st.state === 'done' ? st : undefined;
    }, 'the task');
    expect(status.images[0]).toEqual({ url: expect.stringMatching(/^http:\/\/simulator:8787\/images\//) });
  });
});

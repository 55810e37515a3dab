// Ctrl-C in `run` on a real terminal (a pseudo-terminal driven by python3's pty module): the question is answered,
// the progress bar comes back after "n", a second Ctrl-C while the question is open detaches (exit 0, as the README
// says), and what is printed after the question starts on a line of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ProviderSimulator, startSimulator } from '../../src/providers/simulator/server';
import { terminatedAfterEach } from '../e2e/batch-cleanup';
import { BIN, cliEnv, runCli } from '../helpers/cli';
import { waitFor } from '../helpers/image-env';
import { closeConnections, testClient } from '../helpers/temporal';

/** Runs argv on a pseudo-terminal (200x40): our stdin goes to its input, its output to our stdout, then `@@EXIT n`. */
const PTY_DRIVER = `
import fcntl, os, pty, select, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 200, 0, 0))
    os.execv(sys.argv[1], sys.argv[1:])
inp = sys.stdin.buffer.fileno()
reading = True
while True:
    r, _, _ = select.select([fd] + ([inp] if reading else []), [], [])
    if inp in r:
        data = os.read(inp, 4096)
        if data:
            os.write(fd, data)
        else:
            reading = False
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
_, status = os.waitpid(pid, 0)
sys.stdout.write('\\n@@EXIT %d\\n' % os.waitstatus_to_exitcode(status))
`;

let sim: ProviderSimulator;
let dir: string;
let items: string;
let n = 0;
const leftRunning = terminatedAfterEach();

beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 60_000 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ib-tty-'));
  items = path.join(dir, 'items.txt');
  fs.writeFileSync(items, 'a slow lighthouse\na slow harbour\n');
});
afterAll(async () => {
  await sim.close();
  await closeConnections();
});

/** `imagebatch run` on a terminal: its output so far (escape sequences removed), keys to send, its exit code. */
function runOnTerminal(batchId: string) {
  const env = cliEnv({ ...sim.env(), TERM: 'xterm' });
  const args = ['run', items, '--out', path.join(dir, 'out'), '--batch-id', batchId, '--poll-interval', '0.2'];
  const child = spawn('python3', ['-c', PTY_DRIVER, process.execPath, BIN, ...args], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let raw = '';
  child.stdout.on('data', (d: Buffer) => (raw += d.toString()));
  // eslint-disable-next-line no-control-regex
  const text = () => raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
  return {
    text,
    press: (keys: string) => child.stdin.write(keys),
    exitCode: async () => Number((await waitFor(() => /@@EXIT (-?\d+)/.exec(text()), 'the run to exit'))[1]),
  };
}

const BAR = /\d+% \| \d+\/\d+ \| ok \d+/;
const QUESTION = /Cancel batch \S+\? \[y\/N\]/;

/** A run on a terminal, its progress bar drawn, then Ctrl-C: the question is open. */
async function askedToCancel() {
  const id = `tty-${process.pid}-${++n}`;
  leftRunning.push(id);
  const run = runOnTerminal(id);
  await waitFor(() => BAR.test(run.text()), 'the progress bar');
  run.press('\x03');
  await waitFor(() => QUESTION.test(run.text()), 'the question');
  return { id, run };
}

describe('Ctrl-C on a terminal', () => {
  it('"n" brings the progress bar back; a second Ctrl-C at the question detaches, exit 0, on a line of its own', async () => {
    const { id, run } = await askedToCancel();
    const answered = run.text().length;
    run.press('n\r');
    await waitFor(() => BAR.test(run.text().slice(answered)), 'the progress bar to come back');
    const again = run.text().length;
    run.press('\x03');
    await waitFor(() => QUESTION.test(run.text().slice(again)), 'the question again');
    run.press('\x03');
    expect(await run.exitCode()).toBe(0);
    expect(run.text()).toMatch(new RegExp(`\\nDetached from batch ${id}\\.`));
    const desc = await (await testClient()).workflow.getHandle(`batch-${id}`).describe();
    expect(desc.status.name).toBe('RUNNING');
  });

  it('a batch that ends while the question is open: the summary starts on a line of its own', async () => {
    const { id, run } = await askedToCancel();
    const cancel = await runCli(['cancel', id], { env: cliEnv(sim.env()) });
    expect(cancel.code).toBe(0);
    expect(await run.exitCode()).toBe(1);
    expect(run.text()).toMatch(new RegExp(`\\nBatch ${id} cancelled`));
  });
});

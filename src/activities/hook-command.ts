// The `--on-complete` command: `sh -c CMD` with the batch's summary JSON on stdin, bounded in time, killed with its
// whole process group when the activity is cancelled or times out.
import { spawn } from 'node:child_process';

/** Longer than this, the command is killed and the attempt fails (retried). */
export const COMMAND_TIMEOUT_MS = 10 * 60_000;
/** What a failure keeps of the command's stderr: its end, where the reason usually is. */
const TAIL_CHARS = 2000;

/** Why the command did not succeed: its exit code or signal, and its stderr's tail. */
export class HookCommandFailed extends Error {
  name = 'HookCommandFailed';
}

function tail(text: string): string {
  const t = text.trim();
  return t.length > TAIL_CHARS ? `…${t.slice(-TAIL_CHARS)}` : t;
}

/** Runs `command`; resolves with its stdout's tail when it exits 0, else rejects with HookCommandFailed. */
export function runHookCommand(
  command: string,
  o: { stdin: string; env: NodeJS.ProcessEnv; timeoutMs?: number; signal?: AbortSignal },
): Promise<string> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout or a cancel stops what the command started too.
    const child = spawn('sh', ['-c', command], { env: o.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let stoppedBy: string | undefined;
    const keep = (s: string, d: Buffer) => (s + d.toString()).slice(-4 * TAIL_CHARS);
    child.stdout.on('data', (d: Buffer) => (stdout = keep(stdout, d)));
    child.stderr.on('data', (d: Buffer) => (stderr = keep(stderr, d)));
    const stop = (why: string) => {
      stoppedBy ??= why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timeoutMs = o.timeoutMs ?? COMMAND_TIMEOUT_MS;
    const timer = setTimeout(() => stop(`timed out after ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    const onAbort = () => stop('cancelled');
    o.signal?.addEventListener('abort', onAbort);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new HookCommandFailed(`could not start sh: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (code === 0 && !stoppedBy) return resolve(tail(stdout));
      const how = stoppedBy ?? (signal ? `killed by ${signal}` : `exited with ${code}`);
      const err = tail(stderr);
      reject(new HookCommandFailed(`the command ${how}${err ? `: ${err}` : ''}`));
    });
    // A command that does not read its stdin closes it early: that is its business, not a failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.stdin);
  });
}

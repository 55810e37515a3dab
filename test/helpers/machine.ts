// A worker "machine" on this host: a process in a mount namespace of its own (`unshare --mount`, private
// propagation) with an empty tmpfs over each folder the other machines use, so it cannot see their disks, as a
// second host cannot; and in a process group of its own, so a test loses the whole machine with one SIGKILL.
// Needs root (or unprivileged user namespaces: not used here).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN } from './cli';

// Mounts the tmpfs over every hidden folder, then becomes the command (same pid, so the worker's identity
// `pid@host` names the machine). A folder that cannot be hidden stops the machine: it would see too much.
const SCRIPT =
  'n=$1; shift; while [ "$n" -gt 0 ]; do mount -t tmpfs -o size=64m machine "$1" || exit 97; shift; n=$((n-1)); done; exec "$@"';

export interface MachineOptions {
  /** Folders of the other machines: each is covered by an empty tmpfs (it must exist). */
  hide: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** The machine's stdout and stderr go here (appended). */
  logFile: string;
}

export interface Machine {
  pid: number;
  process: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the machine's process has ended. */
  exited: Promise<number | string>;
  /** SIGKILLs the machine's whole process group (the worker and anything it started); resolves once it is gone. */
  kill(): Promise<void>;
}

/** Runs `command` (argv) as a machine. */
export function startMachine(command: string[], o: MachineOptions): Machine {
  for (const dir of o.hide) if (!fs.statSync(dir).isDirectory()) throw new Error(`not a folder: ${dir}`);
  fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
  const log = fs.openSync(o.logFile, 'a');
  const args = ['--mount', '--propagation', 'private', 'sh', '-c', SCRIPT, 'machine', String(o.hide.length)];
  const child = spawn('/usr/bin/unshare', [...args, ...o.hide, ...command], {
    env: o.env,
    cwd: o.cwd,
    stdio: ['ignore', log, log],
    detached: true, // a session and process group of its own
  });
  fs.closeSync(log);
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    pid: child.pid!,
    process: child,
    exited,
    async kill() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
  };
}

/** `imagebatch worker ARGS` as a machine (node bin/imagebatch.js, never npx). */
export function startWorkerMachine(workerArgs: string[], o: MachineOptions): Machine {
  return startMachine([process.execPath, BIN, 'worker', ...workerArgs], o);
}

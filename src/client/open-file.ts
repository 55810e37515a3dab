// Opening a file with the desktop's default application: xdg-open on Linux and the BSDs, open on macOS, start on
// Windows. Spawned detached and let go, so the command returns at once and the viewer outlives it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Opener {
  command: string;
  args: string[];
}

/** The opener of `platform` for `file`; undefined when it is not on PATH (xdg-open is missing on a bare server). */
export function openerFor(
  file: string,
  platform: NodeJS.Platform = process.platform,
  env = process.env,
): Opener | undefined {
  // `start` is cmd's own; its first quoted argument is a window title, hence the empty one.
  if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', `"${file}"`] };
  const command = platform === 'darwin' ? 'open' : 'xdg-open';
  return onPath(command, env.PATH ?? '') ? { command, args: [file] } : undefined;
}

function onPath(command: string, PATH: string): boolean {
  return PATH.split(path.delimiter).some((dir) => {
    if (!dir) return false;
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Starts the opener; returns its name, or undefined when there is none. */
export function openFile(file: string): string | undefined {
  const opener = openerFor(file);
  if (!opener) return undefined;
  const child = spawn(opener.command, opener.args, {
    detached: true,
    stdio: 'ignore',
    windowsHide: true,
    // The quotes above are cmd's to read: passed as they are.
    windowsVerbatimArguments: true,
  });
  // Found on PATH but failing to start is the viewer's business, not a failure of the command that wrote the file.
  child.on('error', () => undefined);
  child.unref();
  return opener.command;
}

// Freezes a child process's JavaScript at a chosen line through its inspector (Chrome DevTools protocol), the way a
// machine that stops dead does: whatever the process handed to its native threads before goes on, nothing after.
import { WebSocket } from 'undici';

/** The inspector's address, from the `Debugger listening on ws://...` line a process started with --inspect prints. */
export function inspectorUrl(stderr: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
}

export interface Breakpoint {
  /** The script's URL, as a regular expression. */
  urlRegex: string;
  /** 0-based, as the protocol counts. */
  lineNumber: number;
  /** JavaScript evaluated at the line: the process stops only when it is true. */
  condition: string;
}

/** Sets the breakpoint; `paused` resolves when the process stops there (it stays stopped: kill it). */
export async function pauseAt(url: string, bp: Breakpoint): Promise<{ paused: Promise<void>; close: () => void }> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`no inspector at ${url}`)), { once: true });
  });
  let nextId = 1;
  const answers = new Map<number, (result: unknown) => void>();
  let onPaused: () => void = () => undefined;
  const paused = new Promise<void>((resolve) => (onPaused = resolve));
  ws.addEventListener('message', (e) => {
    const msg = JSON.parse(String(e.data)) as { id?: number; method?: string; result?: unknown; error?: unknown };
    if (msg.method === 'Debugger.paused') onPaused();
    if (msg.id !== undefined) answers.get(msg.id)?.(msg.error ? { error: msg.error } : msg.result);
  });
  const send = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      answers.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send('Debugger.enable');
  const set = (await send('Debugger.setBreakpointByUrl', bp)) as { error?: unknown; locations?: unknown[] };
  if (set.error) throw new Error(`the breakpoint was refused: ${JSON.stringify(set.error)}`);
  return { paused, close: () => ws.close() };
}

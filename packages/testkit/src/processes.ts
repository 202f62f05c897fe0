import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';

/** Children the harness started and has not seen exit yet; SIGKILLed if the test process exits. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a plain SIGKILL is all that fits, and all that is needed.
  process.on('exit', () => {
    for (const child of live) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** A child process with the tail of its output kept for error messages. */
export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** Last lines the process wrote (stdout and stderr), for error messages. */
  tail(): string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  isAlive(): boolean;
}

/** Starts a process owned by the harness; output is drained (a full pipe would block the child). */
export function spawnOwned(command: string, args: string[], options: SpawnOptions & { onOutput?: (chunk: string) => void } = {}): Spawned {
  installExitHook();
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    options.onOutput?.(text);
    for (const line of text.split('\n')) if (line.trim() !== '') lines.push(line);
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  live.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      lines.push(`spawn error: ${err.message}`);
      live.delete(child);
      resolve();
    });
  });
  if (child.pid === undefined) {
    // spawn failed synchronously (e.g. binary missing); 'error' will follow.
    return { child, pid: -1, tail: () => lines.join('\n'), exited, isAlive: () => false };
  }
  return {
    child,
    pid: child.pid,
    tail: () => lines.join('\n'),
    exited,
    isAlive: () => child.exitCode === null && child.signalCode === null,
  };
}

/** Default grace period between SIGTERM and SIGKILL, ms. */
export const STOP_GRACE_MS = 5_000;

/** Stops a process by PID: SIGCONT (in case it was paused), SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(p: Spawned, graceMs = STOP_GRACE_MS): Promise<void> {
  if (!p.isAlive()) return p.exited;
  signal(p, 'SIGCONT');
  signal(p, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      signal(p, 'SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([p.exited, forced]);
  clearTimeout(timer);
  await p.exited;
}

/** Sends a signal by PID; a process that is already gone is not an error. */
export function signal(p: Spawned, sig: NodeJS.Signals): void {
  if (!p.isAlive()) return;
  try {
    process.kill(p.pid, sig);
  } catch {
    // exited between the check and the kill
  }
}

/**
 * SIGSTOP by PID, then waits (≤ 2 s) until the kernel reports the process stopped (Linux
 * /proc/<pid>/stat state T): kill() returns before a process running on another core has stopped,
 * and in that moment it can still answer a request sent right after the pause. Elsewhere, or when
 * /proc cannot be read, returns after the signal.
 */
export async function pauseProcess(p: Spawned): Promise<void> {
  signal(p, 'SIGSTOP');
  for (let i = 0; i < 200 && p.isAlive(); i++) {
    let state: string | undefined;
    try {
      // Format: "pid (comm) state …"; comm may hold spaces or parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return;
    }
    if (state === 'T' || state === 't') return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** SIGKILL by PID and wait for the exit. */
export async function killProcess(p: Spawned): Promise<void> {
  signal(p, 'SIGKILL');
  await p.exited;
}

/** True when an executable of that name is on PATH. */
export function onPath(binary: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').filter((d) => d !== '');
  return dirs.some((dir) => isExecutable(`${dir}/${binary}`));
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

import { rmSync } from 'node:fs';
import { spawnOwned, stopProcess } from './processes';

/** A harness-owned server process with an HTTP readiness endpoint. */
export interface HttpBinaryHandle {
  url: string;
  pid: number;
  /** Stops the process by PID and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `binary` with `args`, then polls `${url}/-/ready` until it answers 2xx (default 30 s);
 * `dir` (its config and data) is removed on stop or on a failed start.
 */
export async function startHttpBinary(binary: string, args: string[], url: string, dir: string, readyTimeoutMs = 30_000): Promise<HttpBinaryHandle> {
  const proc = spawnOwned(binary, args);
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await stopProcess(proc);
      rmSync(dir, { recursive: true, force: true });
    })());
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (!proc.isAlive()) {
      await stop();
      throw new Error(`${binary} exited before it was ready:\n${proc.tail()}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) })).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${binary} not ready after ${readyTimeoutMs} ms:\n${proc.tail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pid: proc.pid, stop };
}

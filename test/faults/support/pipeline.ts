import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const owned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of owned) child.kill('SIGKILL');
});

/** A service running as one OS process: the compiled `services/<name>/dist/main.js` under plain node. */
export interface ServiceProc {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Everything it wrote to stdout and stderr. */
  output(): string;
  /** True until the process has exited. */
  alive(): boolean;
  /** Peak resident set size so far (VmHWM), KiB; undefined once exited. */
  peakRssKb(): number | undefined;
  /** Current resident set size (VmRSS), KiB. */
  rssKb(): number | undefined;
  /** SIGKILL: a crash, nothing flushed. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code. Idempotent. */
  stop(graceMs?: number): Promise<number | null>;
}

function procStatus(pid: number, field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Polls `url` until it answers `status` (default 200). */
export async function waitFor(url: string, status = 200, timeoutMs = 60_000, what = url): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(2_000) })).status === status) return;
    } catch {
      // not listening (yet), or stalled
    }
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${status} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts `services/<name>/src/main.ts` on `port` and waits until /readyz answers 200 (unless
 * `waitReady` is false). The environment is exactly `env` plus PATH, HOST and PORT.
 */
export async function launch(name: string, port: number, env: Record<string, string>, waitReady = true): Promise<ServiceProc> {
  const child = spawn(process.execPath, [join(root, 'services', name, 'dist', 'main.js')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  owned.add(child);
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-200_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      owned.delete(child);
      resolve(code);
    }),
  );
  const pid = child.pid!;
  const url = `http://127.0.0.1:${port}`;
  let stopping: Promise<number | null> | undefined;
  const proc: ServiceProc = {
    name,
    url,
    port,
    pid,
    output: () => out,
    alive: () => child.exitCode === null && child.signalCode === null,
    peakRssKb: () => procStatus(pid, 'VmHWM'),
    rssKb: () => procStatus(pid, 'VmRSS'),
    kill: async () => {
      if (proc.alive()) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    stop: (graceMs = 10_000) =>
      (stopping ??= (async () => {
        if (!proc.alive()) return exited;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })()),
  };
  if (waitReady) {
    try {
      await Promise.race([
        waitFor(`${url}/readyz`, 200, 60_000, `${name} /readyz`),
        exited.then((code) => {
          throw new Error(`${name} exited with ${code}`);
        }),
      ]);
    } catch (err) {
      await proc.kill();
      throw new Error(`${(err as Error).message}\n${out.slice(-3000)}`);
    }
  }
  return proc;
}

export { eventually } from '../../support/poll';

/** Calls counted by the aggregator for one connector in the last 15 minutes (default tenant). */
export async function counted(aggregatorUrl: string, connector: string): Promise<number> {
  const r = await fetch(`${aggregatorUrl}/v1/connectors/${encodeURIComponent(connector)}/metrics?window=15m`, { signal: AbortSignal.timeout(5_000) });
  if (r.status === 404) return 0;
  if (r.status !== 200) throw new Error(`aggregator answered ${r.status}`);
  return ((await r.json()) as { calls: number }).calls;
}

/**
 * Polls until the count stops changing for `quietMs` (and equals `expected`, when it gets there
 * earlier), so a late duplicate is seen rather than missed.
 */
export async function settledCount(aggregatorUrl: string, connectors: string[], expected: number, timeoutMs = 90_000, quietMs = 3_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  for (;;) {
    let n = 0;
    try {
      for (const c of connectors) n += await counted(aggregatorUrl, c);
    } catch {
      n = last; // aggregator restarting
    }
    if (n !== last) {
      last = n;
      since = Date.now();
    }
    if ((n === expected && Date.now() - since >= quietMs) || (n > expected && Date.now() - since >= quietMs)) return n;
    if (Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** One line per fault: sent / counted / lost / duplicated. */
export function report(fault: string, sent: number, count: number, extra = ''): { lost: number; duplicated: number } {
  const lost = Math.max(0, sent - count);
  const duplicated = Math.max(0, count - sent);
  process.stdout.write(`FAULT ${fault}: sent=${sent} counted=${count} lost=${lost} duplicated=${duplicated}${extra === '' ? '' : ' ' + extra}\n`);
  return { lost, duplicated };
}

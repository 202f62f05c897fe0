/** Backoff defaults: first retry after ~100 ms, doubling, capped at 10 s, ±20 % jitter. */
export const RETRY_DEFAULTS = { initialMs: 100, factor: 2, maxMs: 10_000, jitter: 0.2 } as const;

export interface BackoffOptions {
  initialMs?: number;
  factor?: number;
  maxMs?: number;
  /** Fraction 0–1 of random spread around each delay. */
  jitter?: number;
  random?: () => number;
}

/** Delay before retry number `attempt` (0-based) with jittered exponential backoff, in ms. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? RETRY_DEFAULTS.initialMs;
  const factor = options.factor ?? RETRY_DEFAULTS.factor;
  const max = options.maxMs ?? RETRY_DEFAULTS.maxMs;
  const jitter = options.jitter ?? RETRY_DEFAULTS.jitter;
  const random = options.random ?? Math.random;
  const base = Math.min(max, initial * factor ** attempt);
  const spread = base * jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(base + spread));
}

/** Waits `ms`, or less when `signal` aborts first. Leaves no listener on `signal` behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    // A long-lived signal (one per subscription) would otherwise collect one listener per retry.
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

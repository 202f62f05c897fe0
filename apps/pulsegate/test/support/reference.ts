import { errorCodeFor, outcomeFor } from '@pulsegate/events';
import type { DemoCall } from '../../src/demo';

/** Internal error code a call must be counted under (null on success), by the documented mapping. */
export function codeOf(c: DemoCall): string | null {
  return errorCodeFor(outcomeFor(c.status, c.status >= 500), c.status, c.errorCode);
}

/** Exact per-window figures of a set of calls, computed the slow, obvious way. */
export function figures(calls: DemoCall[]) {
  const n = calls.length;
  const successes = calls.filter((c) => codeOf(c) === null).length;
  const throttled = calls.filter((c) => c.status === 429).length;
  const errorCodes: Record<string, number> = {};
  for (const c of calls) {
    const code = codeOf(c);
    if (code !== null) errorCodes[code] = (errorCodes[code] ?? 0) + 1;
  }
  const sorted = calls.map((c) => c.latencyMs).sort((a, b) => a - b);
  // Nearest-rank quantile; the aggregator's sketch promises ≤ 1 % relative error against it.
  const p95 = n === 0 ? null : sorted[Math.max(0, Math.ceil(0.95 * n) - 1)]!;
  return { calls: n, successes, throttled, successRate: n === 0 ? null : successes / n, throttleRate: n === 0 ? null : throttled / n, errorCodes, p95 };
}

/** Calls whose span ended in [from, to). */
export function within(calls: DemoCall[], from: number, to: number): DemoCall[] {
  return calls.filter((c) => c.endMs >= from && c.endMs < to);
}

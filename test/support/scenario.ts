import type { InvocationEvent } from '@pulsegate/events';
import { gaussian, seededRandom } from '@pulsegate/random';
import type { Call } from './otel';

/**
 * The seed's ContosoSales traffic within the last few minutes: ListInvoices reads and CreateInvoice
 * writes on 1.1.0 and 1.2.0, with throttles, mapped and unmapped errors, and lognormal latencies.
 */
export function contosoCalls(count: number, nowMs: number, seed = 7): Call[] {
  const r = seededRandom(seed);
  const calls: Call[] = [];
  for (let i = 0; i < count; i++) {
    const read = r() < 0.7;
    const u = r();
    const status = u < 0.9 ? (read ? 200 : 201) : u < 0.94 ? 429 : u < 0.96 ? 404 : u < 0.98 ? 503 : u < 0.99 ? 500 : 418;
    const normal = gaussian(r);
    calls.push({
      connector: 'ContosoSales',
      version: r() < 0.75 ? '1.2.0' : '1.1.0',
      action: read ? 'ListInvoices' : 'CreateInvoice',
      method: read ? 'GET' : 'POST',
      status,
      latencyMs: Math.round(Math.exp(Math.log(read ? 180 : 420) + 0.5 * normal) * 1000) / 1000,
      endMs: nowMs - 1000 - Math.floor(r() * 120_000),
      correlationId: `corr-${i}`,
    });
  }
  return calls;
}

/** Exact reference numbers of a set of events, computed the slow, obvious way. */
export function reference(events: InvocationEvent[]) {
  const calls = events.length;
  const successes = events.filter((e) => e.outcome === 'success').length;
  const throttled = events.filter((e) => e.outcome === 'throttled').length;
  const errorCodes: Record<string, number> = {};
  for (const e of events) if (e.errorCode !== null) errorCodes[e.errorCode] = (errorCodes[e.errorCode] ?? 0) + 1;
  const sorted = events.map((e) => e.latencyMs).sort((a, b) => a - b);
  // Nearest-rank quantile; the sketch promises ≤ 1 % relative error against it.
  const q = (p: number): number => sorted[Math.max(0, Math.ceil(p * calls) - 1)]!;
  const failed = events.filter((e) => e.outcome !== 'success');
  const mapped = failed.filter((e) => e.errorCode !== 'UNMAPPED').length;
  return {
    calls,
    successes,
    throttled,
    successRate: calls === 0 ? null : successes / calls,
    throttleRate: calls === 0 ? null : throttled / calls,
    errorCodes,
    errorMappingCoverage: failed.length === 0 ? null : mapped / failed.length,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
  };
}

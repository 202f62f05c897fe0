import { lognormal, seededRandom } from '@pulsegate/random';
import { NEW_VERSION, OLD_VERSION } from './contoso';

/** One ContosoSales action call, as the demo records it in a span. */
export interface DemoCall {
  action: 'ListInvoices' | 'CreateInvoice';
  method: 'GET' | 'POST';
  version: string;
  /** HTTP status the backend answered. */
  status: number;
  /** Internal error code (the guide's mapping table) on mapped failures; absent on success and on unmapped failures. */
  errorCode?: string;
  latencyMs: number;
  /** Span end, epoch ms. */
  endMs: number;
  correlationId: string;
}

/**
 * The demo's timeline, in seconds since the live phase started. Defaults chosen so the built-in
 * anomaly-detector rules react within the first minute (see the app README).
 */
export interface Timeline {
  /** Live calls per second. Default 10. */
  callsPerSecond: number;
  /** 429 surge on ListInvoices: [from, to) seconds and the throttled share. Default [10, 40), 0.4. */
  surge: { fromS: number; toS: number; share: number };
  /** Latency regression of ListInvoices on 1.2.0 from this second on: median × factor. Default 20 s, × 3.6. */
  regression: { fromS: number; factor: number };
  /** Share of calls on 1.2.0 ramps linearly from `from` to `to` over `overS` seconds. Default 0.1 → 0.8 over 90 s. */
  rollout: { from: number; to: number; overS: number };
}

export const DEFAULT_TIMELINE: Timeline = {
  callsPerSecond: 10,
  surge: { fromS: 10, toS: 40, share: 0.4 },
  regression: { fromS: 20, factor: 3.6 },
  rollout: { from: 0.1, to: 0.8, overS: 90 },
};

/** Backfilled history: calls per second and the share already on 1.2.0 (a canary). */
export const BACKFILL = { callsPerSecond: 2, newVersionShare: 0.05 } as const;

/** Deterministic pseudo-random numbers, so a demo run can be replayed. */
export const rng = seededRandom;

/** Lognormal latency at microsecond resolution, as a span timestamp would carry. */
function latency(random: () => number, median: number, sigma: number): number {
  return Math.round(lognormal(random, median, sigma) * 1000) / 1000;
}

/**
 * One call. Normal traffic: reads 200 / writes 201 with 0.3 % 429 RATE_LIMIT, 0.4 % 404
 * NOT_FOUND, 0.2 % 500 INTERNAL_ERROR and 0.1 % 422 without an error code (unmapped); latency
 * lognormal with median 180 ms (reads) / 420 ms (writes), σ 0.5.
 */
function call(random: () => number, endMs: number, version: string, throttleShare: number, latencyFactor: (action: DemoCall['action'], version: string) => number, n: number): DemoCall {
  const read = random() < 0.7;
  const action = read ? 'ListInvoices' : 'CreateInvoice';
  const u = random();
  let status: number;
  let errorCode: string | undefined;
  if (u < throttleShare) [status, errorCode] = [429, 'RATE_LIMIT'];
  else if (u < throttleShare + 0.004) [status, errorCode] = [404, 'NOT_FOUND'];
  else if (u < throttleShare + 0.006) [status, errorCode] = [500, 'INTERNAL_ERROR'];
  else if (u < throttleShare + 0.007) status = 422; // not in the guide's mapping table: UNMAPPED
  else status = read ? 200 : 201;
  const median = (read ? 180 : 420) * latencyFactor(action, version);
  const c: DemoCall = { action, method: read ? 'GET' : 'POST', version, status, latencyMs: latency(random, median, 0.5), endMs, correlationId: `demo-${endMs}-${n}` };
  if (errorCode !== undefined) c.errorCode = errorCode;
  return c;
}

/** Share of live calls on the new version at second `s`. */
export function newVersionShare(timeline: Timeline, s: number): number {
  const r = timeline.rollout;
  return r.from + (r.to - r.from) * Math.min(1, Math.max(0, s / r.overS));
}

/** The calls of live second `s` (0-based), ending in [startMs + s·1000, startMs + (s+1)·1000). */
export function liveSecond(timeline: Timeline, s: number, startMs: number, random: () => number): DemoCall[] {
  const out: DemoCall[] = [];
  const surge = s >= timeline.surge.fromS && s < timeline.surge.toS;
  const regressed = s >= timeline.regression.fromS;
  const share = newVersionShare(timeline, s);
  for (let i = 0; i < timeline.callsPerSecond; i++) {
    const endMs = startMs + s * 1000 + Math.floor(random() * 1000);
    const version = random() < share ? NEW_VERSION : OLD_VERSION;
    // The surge hits reads only: that is the action the backend rate-limits (100 requests / 60 s).
    const c = call(random, endMs, version, 0.003, (action, v) => (regressed && action === 'ListInvoices' && v === NEW_VERSION ? timeline.regression.factor : 1), i);
    if (surge && c.action === 'ListInvoices' && random() < timeline.surge.share) {
      c.status = 429;
      c.errorCode = 'RATE_LIMIT';
    }
    out.push(c);
  }
  return out;
}

/** Baseline history for the `minutes` before `nowMs` (oldest first), so charts have a past to compare with. */
export function backfill(minutes: number, nowMs: number, random: () => number): DemoCall[] {
  const out: DemoCall[] = [];
  const total = Math.floor(minutes * 60 * BACKFILL.callsPerSecond);
  const spacing = 1000 / BACKFILL.callsPerSecond;
  const first = nowMs - minutes * 60_000;
  for (let i = 0; i < total; i++) {
    const version = random() < BACKFILL.newVersionShare ? NEW_VERSION : OLD_VERSION;
    out.push(call(random, Math.floor(first + i * spacing), version, 0.003, () => 1, i));
  }
  return out;
}

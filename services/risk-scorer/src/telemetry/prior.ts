import type { FeatureValues } from '../model/features';
import type { RiskStore } from '../store/types';

/** Live telemetry of one connector version, summed over its actions. */
export interface PriorTelemetry {
  /** Weighted calls in the window. */
  calls: number;
  /** Window covered, epoch ms (earliest start, latest end over the actions). */
  from: number;
  to: number;
  /** Firing alerts that started inside [from, to). */
  alerts: number;
  values: Required<Pick<FeatureValues, 'priorSuccessRate' | 'priorP95Ms' | 'priorThrottleRate' | 'priorAlertsPer1000Calls'>>;
}

/**
 * Telemetry features of a version: success and throttle rates are call-weighted over all of its
 * actions (Σ successes / Σ calls); P95 is the worst action's P95 (quantiles of different actions
 * cannot be merged exactly, and the worst action is what breaks flows); alerts per 1000 calls =
 * alerts started in the window / calls × 1000. Null when there are no calls or the P95 is unknown.
 */
export async function priorTelemetry(store: RiskStore, tenant: string, connector: string, version: string): Promise<PriorTelemetry | null> {
  const series = await store.seriesOf(tenant, connector, version);
  let calls = 0;
  let successes = 0;
  let throttled = 0;
  let p95: number | null = null;
  let from = Infinity;
  let to = -Infinity;
  for (const s of series) {
    if (s.window.calls <= 0) continue;
    calls += s.window.calls;
    successes += s.window.successes;
    throttled += s.window.throttled;
    const q = s.window.latencyMs?.p95;
    if (typeof q === 'number') p95 = p95 === null ? q : Math.max(p95, q);
    from = Math.min(from, s.window.from);
    to = Math.max(to, s.window.to);
  }
  if (calls === 0 || p95 === null) return null;
  const alerts = (await store.alertsOf(tenant, connector, version)).filter((a) => a.startsAt >= from && a.startsAt < to).length;
  return {
    calls,
    from,
    to,
    alerts,
    values: { priorSuccessRate: successes / calls, priorP95Ms: p95, priorThrottleRate: throttled / calls, priorAlertsPer1000Calls: (alerts / calls) * 1000 },
  };
}

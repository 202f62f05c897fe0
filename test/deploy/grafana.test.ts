import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/pulsegate-slo-dashboard.json', import.meta.url), 'utf8')) as {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
};
// Metric names Pulsegate exports (detector README and aggregator README).
const EXPORTED = new Set([
  'pulsegate_slo_attainment_ratio',
  'pulsegate_slo_error_budget_remaining_ratio',
  'pulsegate_slo_burn_rate',
  'pulsegate_slo_time_to_exhaustion_seconds',
  'pulsegate_slo_events',
  'pulsegate_slo_objective_ratio',
  'pulsegate_connector_calls',
  'pulsegate_connector_success_rate',
  'pulsegate_connector_latency_p95_ms',
  'pulsegate_connector_throttle_rate',
  'pulsegate_anomaly_alerts',
]);

describe('Grafana dashboard (deploy/grafana)', () => {
  it('queries only metrics Pulsegate exports, and covers the SLO and KPI series', () => {
    const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/pulsegate_[a-z0-9_]+/g) ?? [])));
    for (const m of used) expect(EXPORTED.has(m), m).toBe(true);
    for (const m of ['pulsegate_slo_attainment_ratio', 'pulsegate_slo_error_budget_remaining_ratio', 'pulsegate_slo_burn_rate', 'pulsegate_connector_success_rate']) expect(used.has(m), m).toBe(true);
  });
});

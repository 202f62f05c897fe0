import { createMetricsRegistry, registerReadout, samplesOf, type Registry, type Sample } from '@pulsegate/telemetry';
import type { ModelStore } from './model/store';

/** Totals the risk scorer's HTTP API keeps since start (read by /metrics). */
export interface RiskCounters {
  /** Stored assessments, keyed `<decision>\u0000<level>`. */
  assessments: Map<string, number>;
  /** Training runs, by outcome: "trained" (model saved and activated) or "rejected" (unusable data). */
  trainings: Record<string, number>;
}

/** Fresh zeroed counters. */
export function createRiskCounters(): RiskCounters {
  return { assessments: new Map(), trainings: {} };
}

/** Counts one stored assessment. */
export function countAssessment(c: RiskCounters, decision: string, level: string): void {
  const k = `${decision}\u0000${level}`;
  c.assessments.set(k, (c.assessments.get(k) ?? 0) + 1);
}

/** What the risk scorer's metrics read at scrape time. */
export interface RiskMetricsSources {
  counters: RiskCounters;
  models: ModelStore;
  /** Tenants whose active model is reported: those of the configured keys, or "default" without keys. */
  tenants: readonly string[];
  isReady: () => boolean;
}

/** The risk scorer's Prometheus metrics (names in the README). */
export function createRiskMetrics(s: RiskMetricsSources): Registry {
  const r = createMetricsRegistry();
  registerReadout(r, {
    name: 'pulsegate_risk_assessments_total',
    help: 'Promotion assessments stored and published, by decision and risk level.',
    type: 'counter',
    labelNames: ['decision', 'level'],
    read: () =>
      [...s.counters.assessments].map(([k, value]) => {
        const [decision, level] = k.split('\u0000') as [string, string];
        return { labels: { decision, level }, value };
      }),
  });
  registerReadout(r, {
    name: 'pulsegate_risk_trainings_total',
    help: 'Model training runs, by outcome (trained, rejected).',
    type: 'counter',
    labelNames: ['outcome'],
    read: () => samplesOf(s.counters.trainings, 'outcome'),
  });
  registerReadout(r, {
    name: 'pulsegate_risk_model_info',
    help: 'Always 1: the active risk model version of each tenant (absent while a tenant has none).',
    type: 'gauge',
    labelNames: ['tenant', 'version'],
    read: async () => {
      const out: Sample[] = [];
      for (const tenant of s.tenants) {
        const m = await s.models.active(tenant);
        if (m !== null) out.push({ labels: { tenant, version: m.version }, value: 1 });
      }
      return out;
    },
  });
  registerReadout(r, { name: 'pulsegate_risk_ready', help: '1 when the risk scorer is consuming and accepts requests, else 0.', type: 'gauge', read: () => [{ value: s.isReady() ? 1 : 0 }] });
  return r;
}

import { createMetricsRegistry, registerReadout, samplesOf, type Registry, type Sample } from '@pulsegate/telemetry';
import type { DeliveryCounts } from './delivery/dispatcher';
import type { DetectorStore } from './store/types';
import type { SloEngine, SloStatus } from './slo/engine';

/** Snapshot totals since start, kept by the service's consumer (read by /metrics). */
export interface SnapshotCounts {
  /** Snapshots evaluated, by type ("series" | "adoption"). */
  consumed: Record<string, number>;
  /** Metrics-topic records that failed to decode (sent to the dead-letter topic). */
  rejected: number;
}

/** Fresh zeroed snapshot totals. */
export function createSnapshotCounts(): SnapshotCounts {
  return { consumed: {}, rejected: 0 };
}

/** What the anomaly detector's metrics read at scrape time. */
export interface DetectorMetricsSources {
  store: DetectorStore;
  delivery: DeliveryCounts;
  snapshots: SnapshotCounts;
  isReady: () => boolean;
  /** SLO engine for the pulsegate_slo_* gauges; omitted = no SLO gauges. */
  slo?: SloEngine;
}

/** Counts alerts in state `firing` / `pending` by rule over every tenant (one store read per scrape). */
async function alertSamples(store: DetectorStore): Promise<Sample[]> {
  const counts = new Map<string, number>();
  for (const tenant of await store.tenants()) {
    for (const a of await store.listAlerts(tenant)) {
      if (a.state !== 'firing' && a.state !== 'pending') continue;
      const k = `${a.rule}\u0000${a.state}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  return [...counts].map(([k, value]) => {
    const [rule, state] = k.split('\u0000') as [string, string];
    return { labels: { rule, state }, value };
  });
}

/** SLO status of every tenant, read once per scrape and shared by the SLO gauges. */
function sloReader(slo: SloEngine): () => Promise<Array<SloStatus & { tenant: string }>> {
  let pending: Promise<Array<SloStatus & { tenant: string }>> | null = null;
  return () => {
    pending ??= (async () => {
      const out: Array<SloStatus & { tenant: string }> = [];
      for (const tenant of await slo.tenants()) for (const s of await slo.status(tenant)) out.push({ ...s, tenant });
      return out;
    })().finally(() => setTimeout(() => (pending = null), 0));
    return pending;
  };
}

function registerSloGauges(r: Registry, slo: SloEngine): void {
  const read = sloReader(slo);
  const labels = (s: SloStatus & { tenant: string }) => ({ tenant: s.tenant, connector: s.connector, action: s.action, kind: s.kind, slo: s.slo });
  const labelNames = ['tenant', 'connector', 'action', 'kind', 'slo'];
  const gauge = (name: string, help: string, value: (s: SloStatus) => number | null) =>
    registerReadout(r, {
      name,
      help,
      type: 'gauge',
      labelNames,
      read: async () =>
        (await read()).flatMap((s) => {
          const v = value(s);
          return v === null ? [] : [{ labels: labels(s), value: v }];
        }),
    });
  gauge('pulsegate_slo_objective_ratio', 'SLO objective: share of good events to reach over the SLO window (0-1).', (s) => s.objective);
  gauge('pulsegate_slo_attainment_ratio', 'Share of good events over the SLO window (0-1); absent without events.', (s) => s.attainment);
  gauge('pulsegate_slo_error_budget_remaining_ratio', 'Share of the error budget left over the SLO window (negative once overspent).', (s) => s.budgetRemaining);
  gauge('pulsegate_slo_events', 'SLI events (calls) over the SLO window.', (s) => s.events);
  gauge('pulsegate_slo_time_to_exhaustion_seconds', 'Time until the error budget is spent at the 1-hour burn rate; absent when nothing burns.', (s) => s.timeToExhaustionSeconds);
  registerReadout(r, {
    name: 'pulsegate_slo_burn_rate',
    help: 'Error budget burn rate (bad share / error budget) per alert window.',
    type: 'gauge',
    labelNames: [...labelNames, 'window'],
    read: async () =>
      (await read()).flatMap((s) =>
        Object.entries(s.burnRates).flatMap(([window, v]) => (v === null ? [] : [{ labels: { ...labels(s), window }, value: v }])),
      ),
  });
}

/**
 * The anomaly detector's Prometheus metrics, read at scrape time from totals the service already
 * keeps (dispatcher counts, snapshot counts) and from the alert store. Names are in the README.
 */
export function createDetectorMetrics(s: DetectorMetricsSources): Registry {
  const r = createMetricsRegistry();
  registerReadout(r, {
    name: 'pulsegate_anomaly_alerts',
    help: 'Alerts now firing or pending (all tenants), by rule and state.',
    type: 'gauge',
    labelNames: ['rule', 'state'],
    read: () => alertSamples(s.store),
  });
  const byReceiver = (name: string, help: string, counts: () => Record<string, number>) =>
    registerReadout(r, { name, help, type: 'counter', labelNames: ['receiver'], read: () => samplesOf(counts(), 'receiver') });
  byReceiver('pulsegate_anomaly_notifications_sent_total', 'Alert notifications a webhook receiver accepted (2xx), by receiver.', () => s.delivery.sent);
  byReceiver('pulsegate_anomaly_notifications_failed_total', 'Failed delivery attempts, one per alert per attempt, by receiver.', () => s.delivery.failed);
  byReceiver('pulsegate_anomaly_notifications_dead_lettered_total', 'Notifications given up on (attempts exhausted or non-retriable 4xx), by receiver.', () => s.delivery.deadLettered);
  registerReadout(r, {
    name: 'pulsegate_anomaly_snapshots_consumed_total',
    help: 'Metric snapshots evaluated, by type (series, adoption).',
    type: 'counter',
    labelNames: ['type'],
    read: () => samplesOf(s.snapshots.consumed, 'type'),
  });
  registerReadout(r, { name: 'pulsegate_anomaly_snapshots_rejected_total', help: 'Metrics-topic records that failed validation (moved to the dead-letter topic).', type: 'counter', read: () => [{ value: s.snapshots.rejected }] });
  if (s.slo !== undefined) registerSloGauges(r, s.slo);
  registerReadout(r, { name: 'pulsegate_anomaly_ready', help: '1 when the detector is consuming and its store is connected, else 0.', type: 'gauge', read: () => [{ value: s.isReady() ? 1 : 0 }] });
  return r;
}

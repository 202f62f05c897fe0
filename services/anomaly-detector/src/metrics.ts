import { createMetricsRegistry, registerReadout, samplesOf, type Registry, type Sample } from '@pulsegate/telemetry';
import type { DeliveryCounts } from './delivery/dispatcher';
import type { DetectorStore } from './store/types';

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
  registerReadout(r, { name: 'pulsegate_anomaly_ready', help: '1 when the detector is consuming and its store is connected, else 0.', type: 'gauge', read: () => [{ value: s.isReady() ? 1 : 0 }] });
  return r;
}

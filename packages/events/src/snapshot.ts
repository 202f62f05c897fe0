import type { ActionKind } from './invocation';

/** The metric set of one series over one window (the aggregator's metrics API body, minus labels). */
export interface WindowMetrics {
  window: string;
  /** Window start and end, epoch ms (end exclusive). */
  from: number;
  to: number;
  /** Weighted call count (sample weights honoured). */
  calls: number;
  successes: number;
  /** successes / calls, 0–1; null when calls = 0. */
  successRate: number | null;
  throttled: number;
  /** throttled / calls, 0–1; null when calls = 0. */
  throttleRate: number | null;
  /** Latency quantiles in ms (relative error ≤ 1 %); null when calls = 0. */
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  errorCodes: Record<string, number>;
  /** Mapped error calls / error calls, 0–1; null when there are no error calls. */
  errorMappingCoverage: number | null;
  /**
   * Calls at or under each latency bound (ms, keys from LATENCY_BOUNDS_MS), like Prometheus
   * histogram `le` buckets; read by latency SLOs. Optional: older producers omit it.
   */
  latencyLe?: Record<string, number>;
}

/** Latency bounds (ms) counted in `WindowMetrics.latencyLe`; a latency SLO threshold is one of these. */
export const LATENCY_BOUNDS_MS: readonly number[] = [100, 250, 500, 750, 1000, 1500, 2500, 5000, 10000];

/**
 * Published on the metrics topic every snapshot interval for each active series: a series is one
 * tenant / connector / action / version / kind.
 */
export interface SeriesSnapshot {
  type: 'series';
  schemaVersion: 1;
  tenant: string;
  connector: string;
  action: string;
  version: string;
  kind: ActionKind;
  /** When the snapshot was taken, epoch ms. */
  at: number;
  /** Keyed by window name, at least '5m' and '1h'. */
  windows: Record<string, WindowMetrics>;
}

/** Version adoption of one connector, published with the series snapshots. */
export interface AdoptionSnapshot {
  type: 'adoption';
  schemaVersion: 1;
  tenant: string;
  connector: string;
  at: number;
  window: string;
  latest: string | null;
  /** When the latest minor was released (catalog), epoch ms; null when unknown. */
  latestMinorReleasedAt: number | null;
  latestMinorShare: number | null;
  deprecatedShare: number | null;
  /** Window of `versions[].recentCalls` ('5m'); absent from older aggregators. */
  recentWindow?: string;
  /**
   * sunsetAt / daysToSunset: catalog sunset (epoch ms) and whole days to it; recentCalls: calls on
   * the version over `recentWindow` (what sunset alerts judge). All three absent from older aggregators.
   */
  versions: Array<{ version: string; calls: number; share: number; deprecated: boolean; deprecatedAt: number | null; sunsetAt?: number | null; daysToSunset?: number | null; recentCalls?: number }>;
}

export type MetricSnapshot = SeriesSnapshot | AdoptionSnapshot;

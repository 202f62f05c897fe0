import { performance } from 'node:perf_hooks';
import { createMetricsRegistry, Histogram, registerReadout, samplesOf, type Registry, type Sample } from '@pulsegate/telemetry';
import { HOUR_MS, metricsOf, type WindowStore } from '@pulsegate/windows';
import type { PartitionLag } from '@pulsegate/bus';
import type { WindowMetrics } from '@pulsegate/events';
import type { ConsumerStats } from './consumer';
import { namedRange, unlessTooLarge, type MetricsQueries, type VersionAdoption } from './query';

/** Window the connector KPI gauges cover. */
export const KPI_WINDOW = '5m';
/** Default most series the KPI gauges report per scrape. */
export const DEFAULT_KPI_MAX_SERIES = 1_000;

/** Upper bounds of the batch-apply latency histogram, seconds. */
const APPLY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the aggregator's metrics read. */
export interface AggregatorMetricsOptions {
  stats: ConsumerStats;
  queries: MetricsQueries;
  clock: () => number;
  isReady: () => boolean;
  /** Snapshots published so far. */
  snapshotsPublished: () => number;
  /** Most series the KPI gauges report per scrape (default 1000); the rest are counted as capped. */
  maxSeries?: number;
  /** Consumer lag per partition, when the bus reports it. */
  lag?: () => PartitionLag[];
  /** Batches retried for longer than the stuck threshold, with their age in seconds. */
  stuck?: () => Array<{ ageSeconds: number }>;
  /** Progress of the query cache warm-up, when it runs (CacheWarmer.progress). */
  warmup?: () => { warm: number; selected: number; passes: number; warming: number };
}

interface KpiRow {
  labels: Record<string, string>;
  m: WindowMetrics;
}

interface AdoptionRow {
  labels: { tenant: string; connector: string };
  a: VersionAdoption;
}

/** Labels of a series' KPI gauges. */
const SERIES_LABELS = ['tenant', 'connector', 'action', 'version', 'kind'] as const;

/**
 * The aggregator's Prometheus metrics: consumer totals read from `stats`, a batch-apply latency
 * histogram and a store-errors counter fed by `instrument(store)`, and the connector KPIs as gauges
 * computed at scrape time from the store for connectors this instance consumed in the last hour.
 */
export class AggregatorMetrics {
  readonly registry: Registry = createMetricsRegistry();
  private readonly applySeconds: Histogram;
  private readonly errors: Record<string, number> = {};
  private readonly recent = new Map<string, { tenant: string; connector: string; at: number }>();
  private readonly maxSeries: number;
  private capped = 0;
  private pending: Promise<{ kpis: KpiRow[]; adoption: AdoptionRow[] }> | null = null;

  constructor(private readonly o: AggregatorMetricsOptions) {
    this.maxSeries = o.maxSeries ?? DEFAULT_KPI_MAX_SERIES;
    const r = this.registry;
    this.applySeconds = new Histogram({ name: 'pulsegate_aggregator_batch_apply_seconds', help: 'Time to apply one consumed batch to the window store (successful applies), seconds.', buckets: APPLY_BUCKETS, registers: [r] });
    const s = o.stats;
    const counter = (name: string, help: string, read: () => number) => registerReadout(r, { name, help, type: 'counter', read: () => [{ value: read() }] });
    counter('pulsegate_aggregator_batches_total', 'Consumed invocation batches applied to the window store.', () => s.batches);
    counter('pulsegate_aggregator_events_applied_total', 'Invocation events applied (first delivery).', () => s.appliedEvents);
    counter('pulsegate_aggregator_events_replayed_total', 'Invocation events skipped because their offsets were already applied (redelivery).', () => s.replayedEvents);
    registerReadout(r, {
      name: 'pulsegate_aggregator_events_dropped_total',
      help: 'Events outside the accepted event-time range (weighted), by reason (late, future).',
      type: 'counter',
      labelNames: ['reason'],
      read: () => samplesOf({ late: s.droppedLate, future: s.droppedFuture }, 'reason'),
    });
    registerReadout(r, {
      name: 'pulsegate_aggregator_events_duplicate_total',
      help: 'Events not counted because the same (tenant, traceId, spanId) was already counted within the dedup horizon (retried exports), by tenant.',
      type: 'counter',
      labelNames: ['tenant'],
      read: () => samplesOf(s.duplicates, 'tenant'),
    });
    registerReadout(r, {
      name: 'pulsegate_aggregator_events_without_ids_total',
      help: 'Events counted without deduplication because their trace or span id is invalid (all zeros), by tenant.',
      type: 'counter',
      labelNames: ['tenant'],
      read: () => samplesOf(s.withoutIds, 'tenant'),
    });
    counter('pulsegate_aggregator_store_calls_total', 'Window-store round trips made by applies (Redis script calls).', () => s.storeCalls);
    registerReadout(r, {
      name: 'pulsegate_aggregator_redis_errors_total',
      help: 'Failed window-store calls (Redis errors; the memory store does not fail), by operation (apply, ping).',
      type: 'counter',
      labelNames: ['operation'],
      read: () => samplesOf(this.errors, 'operation'),
    });
    counter('pulsegate_aggregator_snapshots_published_total', 'Metric snapshots published to the metrics topic.', o.snapshotsPublished);
    registerReadout(r, { name: 'pulsegate_aggregator_ready', help: '1 when the aggregator consumes and its store answers, else 0.', type: 'gauge', read: () => [{ value: o.isReady() ? 1 : 0 }] });
    if (o.lag !== undefined) {
      const lag = o.lag;
      registerReadout(r, {
        name: 'pulsegate_consumer_lag',
        help: 'Records of the invocations topic not yet handled by this instance, by topic and partition.',
        type: 'gauge',
        labelNames: ['topic', 'partition'],
        read: () => lag().map((l) => ({ labels: { topic: l.topic, partition: String(l.partition) }, value: l.lag })),
      });
    }
    if (o.stuck !== undefined) {
      const stuck = o.stuck;
      registerReadout(r, { name: 'pulsegate_consumer_stuck_batches', help: 'Batches retried for longer than AGGREGATOR_STUCK_AFTER_SECONDS without being handled or dead-lettered.', type: 'gauge', read: () => [{ value: stuck().length }] });
      registerReadout(r, {
        name: 'pulsegate_consumer_oldest_stuck_batch_age_seconds',
        help: 'Age of the oldest stuck batch since its first failure, seconds (0 when none).',
        type: 'gauge',
        read: () => [{ value: Math.max(0, ...stuck().map((s) => s.ageSeconds)) }],
      });
    }
    if (o.warmup !== undefined) {
      const warmup = o.warmup;
      registerReadout(r, { name: 'pulsegate_aggregator_query_cache_warm_connectors', help: 'Connectors whose settled days and hours the query cache warm-up has read (for the generation and settled hour seen then).', type: 'gauge', read: () => [{ value: warmup().warm }] });
      registerReadout(r, { name: 'pulsegate_aggregator_query_cache_warmup_selected_connectors', help: 'Connectors the latest warm-up pass selected (most recently seen first, at most QUERY_CACHE_WARMUP_MAX_CONNECTORS).', type: 'gauge', read: () => [{ value: warmup().selected }] });
      registerReadout(r, { name: 'pulsegate_aggregator_query_cache_warming_connectors', help: 'Connectors whose cache is being read by a warm-up now.', type: 'gauge', read: () => [{ value: warmup().warming }] });
      registerReadout(r, { name: 'pulsegate_aggregator_query_cache_warmup_passes_total', help: 'Query cache warm-up passes finished.', type: 'counter', read: () => [{ value: warmup().passes }] });
    }
    const kpi = (name: string, help: string, value: (m: WindowMetrics) => number | null) =>
      registerReadout(r, {
        name,
        help,
        type: 'gauge',
        labelNames: SERIES_LABELS,
        read: async () => {
          const out: Sample[] = [];
          for (const row of await this.kpiRows()) {
            const v = value(row.m);
            if (v !== null) out.push({ labels: row.labels, value: v });
          }
          return out;
        },
      });
    // Prometheus conventions: ratios 0-1 end in _ratio, latencies are in seconds.
    const seconds = (ms: number | null): number | null => (ms === null ? null : ms / 1000);
    kpi('pulsegate_connector_calls', 'Connector calls (weighted) over the last 5 minutes, per series.', (m) => m.calls);
    kpi('pulsegate_connector_success_ratio', 'Successful calls / calls over the last 5 minutes (0-1), per series.', (m) => m.successRate);
    kpi('pulsegate_connector_throttle_ratio', 'Throttled (429) calls / calls over the last 5 minutes (0-1), per series.', (m) => m.throttleRate);
    kpi('pulsegate_connector_latency_p50_seconds', 'P50 latency over the last 5 minutes, seconds (relative error <= 1 %), per series.', (m) => seconds(m.latencyMs.p50));
    kpi('pulsegate_connector_latency_p95_seconds', 'P95 latency over the last 5 minutes, seconds (relative error <= 1 %), per series.', (m) => seconds(m.latencyMs.p95));
    kpi('pulsegate_connector_latency_p99_seconds', 'P99 latency over the last 5 minutes, seconds (relative error <= 1 %), per series.', (m) => seconds(m.latencyMs.p99));
    kpi('pulsegate_connector_error_mapping_coverage_ratio', 'Error calls with a mapped error code / error calls over the last 5 minutes (0-1), per series.', (m) => m.errorMappingCoverage);
    registerReadout(r, {
      name: 'pulsegate_connector_error_calls',
      help: 'Error calls (weighted) over the last 5 minutes by error code (UNMAPPED included; codes per series are capped as in the API), per series.',
      type: 'gauge',
      labelNames: [...SERIES_LABELS, 'code'],
      read: async () => (await this.kpiRows()).flatMap((row) => Object.entries(row.m.errorCodes).map(([code, value]) => ({ labels: { ...row.labels, code }, value }))),
    });
    const adoption = (name: string, help: string, read: (a: VersionAdoption) => Sample[]) =>
      registerReadout(r, {
        name,
        help,
        type: 'gauge',
        labelNames: ['tenant', 'connector', 'version'],
        read: async () => (await this.adoptionRows()).flatMap((row) => read(row.a).map((x) => ({ labels: { ...row.labels, ...x.labels }, value: x.value }))),
      });
    adoption('pulsegate_connector_version_share_ratio', 'Calls on a version / calls of the connector over the last 5 minutes (0-1), per version.', (a) =>
      a.versions.map((v) => ({ labels: { version: v.version }, value: v.share })),
    );
    adoption('pulsegate_connector_latest_minor_share_ratio', 'Calls on the latest minor of the latest major / calls over the last 5 minutes (0-1), per connector.', (a) =>
      a.latestMinorShare === null ? [] : [{ value: a.latestMinorShare }],
    );
    adoption('pulsegate_connector_deprecated_share_ratio', 'Calls on versions deprecated in the catalog / calls over the last 5 minutes (0-1), per connector.', (a) =>
      a.deprecatedShare === null ? [] : [{ value: a.deprecatedShare }],
    );
    registerReadout(r, {
      name: 'pulsegate_aggregator_kpi_series_capped',
      help: 'Active series left out of the connector KPI gauges at the last scrape (the series cap).',
      type: 'gauge',
      read: async () => {
        await this.kpiRows();
        return [{ value: this.capped }];
      },
    });
  }

  /** Marks connectors as consumed by this instance now (their KPIs are reported for an hour). */
  track(connectors: Array<{ tenant: string; connector: string }>): void {
    const at = this.o.clock();
    for (const c of connectors) this.recent.set(`${c.tenant}\u0000${c.connector}`, { ...c, at });
  }

  /** Counts a failed store call of `operation`. */
  storeError(operation: string): void {
    this.errors[operation] = (this.errors[operation] ?? 0) + 1;
  }

  /** The store with `apply` timed into the histogram and its failures counted; other calls pass through. */
  instrument(store: WindowStore): WindowStore {
    const apply: WindowStore['apply'] = async (input) => {
      const t0 = performance.now();
      try {
        const r = await store.apply(input);
        this.applySeconds.observe((performance.now() - t0) / 1000);
        return r;
      } catch (err) {
        this.storeError('apply');
        throw err;
      }
    };
    return new Proxy(store, {
      get: (target, prop) => {
        if (prop === 'apply') return apply;
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  /** KPI rows of this scrape; the gauges of one scrape share one computation. */
  private async kpiRows(): Promise<KpiRow[]> {
    return (await this.scrapeRows()).kpis;
  }

  /** Version adoption of the connectors of this scrape (same computation as kpiRows). */
  private async adoptionRows(): Promise<AdoptionRow[]> {
    return (await this.scrapeRows()).adoption;
  }

  private scrapeRows(): Promise<{ kpis: KpiRow[]; adoption: AdoptionRow[] }> {
    this.pending ??= this.computeKpis().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private async computeKpis(): Promise<{ kpis: KpiRow[]; adoption: AdoptionRow[] }> {
    const { queries } = this.o;
    const now = this.o.clock();
    const range = namedRange(KPI_WINDOW, now);
    const rows: KpiRow[] = [];
    const adoption: AdoptionRow[] = [];
    let budget = this.maxSeries;
    let capped = 0;
    const connectors = [...this.recent.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [id, c] of connectors) {
      if (c.at < now - HOUR_MS) {
        this.recent.delete(id);
        continue;
      }
      const series = await queries.series(c.tenant, c.connector);
      if (series === null) continue;
      // Only series with an event inside the window can have calls in it.
      const active = series.filter((s) => s.lastSeen >= range.from);
      const take = active.slice(0, Math.max(0, budget));
      capped += active.length - take.length;
      budget -= take.length;
      if (take.length === 0) continue;
      // Versions per connector are capped at ingest (INGEST_MAX_VERSIONS_PER_CONNECTOR), so is this.
      const a = await unlessTooLarge(queries.versions(c.tenant, c.connector, range)); // null: over the query limits, no adoption gauges
      if (a !== null && a.versions.length > 0) adoption.push({ labels: { tenant: c.tenant, connector: c.connector }, a });
      const [read] = await queries.seriesRanges(c.tenant, c.connector, take, [range]);
      take.forEach((s, i) => {
        const m = metricsOf(read!.buckets[i]!, KPI_WINDOW, read!.plan.from, read!.plan.to);
        if (m.calls > 0) rows.push({ labels: { tenant: c.tenant, connector: c.connector, action: s.action, version: s.version, kind: s.kind }, m });
      });
    }
    this.capped = capped;
    return { kpis: rows, adoption };
  }
}

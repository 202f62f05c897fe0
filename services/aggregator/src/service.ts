import type { Express } from 'express';
import type { Bus, FailingBatch, Subscription } from '@pulsegate/bus';
import { Topics } from '@pulsegate/events';
import type { Logger } from '@pulsegate/logging';
import { KeyRing } from '@pulsegate/http-kit';
import { MemoryWindowStore, RedisWindowStore, type WindowConfig, type WindowStore } from '@pulsegate/windows';
import { createApp } from './app';
import type { AggregatorConfig } from './config';
import { startConsumers, type ConsumerStats } from './consumer';
import { AggregatorMetrics } from './metrics';
import { MetricsQueries } from './query';
import { SnapshotPublisher } from './snapshots';
import { CacheWarmer } from './warmup';

export interface AggregatorDeps {
  bus: Bus;
  logger: Logger;
  config: AggregatorConfig;
  /** Window store; default from config (Redis / Redis Cluster when configured, else memory). The service closes a store it created. */
  store?: WindowStore;
  /** Epoch-ms clock; default Date.now. */
  clock?: () => number;
}

export interface AggregatorService {
  app: Express;
  store: WindowStore;
  stats: ConsumerStats;
  snapshots: SnapshotPublisher;
  /** Background warm-up of the query cache; null when QUERY_CACHE_WARMUP is off (or the cache is). */
  warmer: CacheWarmer | null;
  /** Starts the consumers and the snapshot timer. */
  start(): Promise<void>;
  /** Stops consuming (the batch in flight finishes and is committed), stops snapshots, closes an owned store. Idempotent. */
  stop(): Promise<void>;
  isReady(): boolean;
}

/** Window settings of a configuration. */
export function windowConfigOf(config: AggregatorConfig): WindowConfig {
  return { minuteRetentionMs: config.minuteRetentionMs, hourRetentionMs: config.hourRetentionMs, maxFutureSkewMs: config.maxFutureSkewMs, dedupHorizonMs: config.dedupHorizonMs };
}

/** Builds the store the configuration asks for. */
export function createStore(config: AggregatorConfig, clock: () => number = Date.now): WindowStore {
  const cfg = windowConfigOf(config);
  const readLegacy = config.readLegacyBuckets;
  if (config.redisClusterNodes.length > 0) return new RedisWindowStore({ target: { clusterNodes: config.redisClusterNodes }, config: cfg, clock, readLegacy });
  if (config.redisUrl !== null) return new RedisWindowStore({ target: { url: config.redisUrl }, config: cfg, clock, readLegacy });
  return new MemoryWindowStore({ config: cfg, clock });
}

/** The aggregator: consumes invocations into the window store, answers queries, publishes snapshots. */
export async function createAggregatorService(deps: AggregatorDeps): Promise<AggregatorService> {
  const clock = deps.clock ?? Date.now;
  const ownsStore = deps.store === undefined;
  const store = deps.store ?? createStore(deps.config, clock);
  const queries = new MetricsQueries(store, windowConfigOf(deps.config), clock, deps.config.queryDayCacheEntries, {
    maxSeries: deps.config.queryMaxSeries,
    maxBucketReads: deps.config.queryMaxBucketReads,
    chunkBuckets: deps.config.queryChunkBuckets,
  });
  const stats: ConsumerStats = { batches: 0, appliedEvents: 0, replayedEvents: 0, droppedLate: 0, droppedFuture: 0, storeCalls: 0, duplicates: {}, withoutIds: {} };
  const warmer =
    deps.config.queryCacheWarmup && queries.dayCache !== null && deps.config.queryCacheWarmupMaxConnectors > 0
      ? new CacheWarmer({ queries, store, logger: deps.logger, clock, intervalMs: deps.config.queryCacheWarmupIntervalMs, maxConnectors: deps.config.queryCacheWarmupMaxConnectors })
      : null;
  const snapshots = new SnapshotPublisher({ bus: deps.bus, queries, logger: deps.logger, intervalMs: deps.config.snapshotIntervalMs, clock });
  let subs: Subscription[] = [];
  let started = false;
  let stopping: Promise<void> | null = null;
  let storeUp = false;
  let probe: NodeJS.Timeout | null = null;

  const checkStore = async (): Promise<boolean> => {
    storeUp = await store.ping();
    if (!storeUp) metrics.storeError('ping');
    return storeUp;
  };
  const ready = (): boolean => started && stopping === null && storeUp && deps.bus.isReady();
  // subs[0] is the invocations subscription (startConsumers returns it first).
  // Batches failing longer than stuckAfterMs, on any subscription (by wall-clock age: Date.now, not the event clock).
  const stuck = (): Array<FailingBatch & { topic: string }> =>
    subs.flatMap((s, i) => (s.failing?.() ?? []).filter((f) => Date.now() - f.since >= deps.config.stuckAfterMs).map((f) => ({ ...f, topic: i === 0 ? Topics.invocations : Topics.catalog })));
  const metrics = new AggregatorMetrics({
    stats,
    queries,
    clock,
    isReady: ready,
    snapshotsPublished: () => snapshots.published,
    maxSeries: deps.config.metricsMaxSeries,
    lag: () => subs[0]?.lag?.() ?? [],
    stuck: () => stuck().map((f) => ({ ageSeconds: (Date.now() - f.since) / 1_000 })),
    warmup: warmer === null ? undefined : () => warmer.progress(),
  });

  const app = createApp({
    queries,
    keys: new KeyRing(deps.config.apiKeys),
    logger: deps.logger,
    isReady: async () => started && stopping === null && (await checkStore()) && deps.bus.isReady(),
    degraded: () => stuck().map((f) => `${f.topic} partition ${f.partition}: batch failing for ${Math.round((Date.now() - f.since) / 1_000)} s (${f.failures} failures), last error: ${f.reason.slice(0, 200)}`),
    maxRangeMs: deps.config.hourRetentionMs,
    staleAfterDays: deps.config.staleAfterDays,
    metrics: metrics.registry,
  });

  return {
    app,
    store,
    stats,
    snapshots,
    warmer,
    async start() {
      if (started) return;
      await checkStore();
      subs = await startConsumers({
        bus: deps.bus,
        // Timed and error-counted for /metrics; queries use the store directly.
        store: metrics.instrument(store),
        logger: deps.logger,
        groupId: deps.config.groupId,
        stats,
        onApplied: (c) => {
          snapshots.track(c);
          metrics.track(c);
        },
        concurrency: deps.config.partitionConcurrency,
        maxBatchEvents: deps.config.maxBatchEvents,
        maxAttempts: deps.config.batchMaxAttempts,
        isolateAfter: deps.config.batchIsolateAfter,
      });
      snapshots.start();
      warmer?.start();
      probe = setInterval(() => void checkStore(), 5_000);
      probe.unref();
      started = true;
    },
    stop() {
      stopping ??= (async () => {
        if (probe !== null) clearInterval(probe);
        await warmer?.stop();
        await snapshots.stop();
        for (const s of subs) await s.stop();
        if (ownsStore) await store.close();
      })();
      return stopping;
    },
    isReady: ready,
  };
}

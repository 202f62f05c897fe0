import { z } from 'zod';
import { hostPortListVar, intVar, redisUrlVar } from '@pulsegate/env';
import { isNonLoopback, parseApiKeys, type ApiKeyEntry, serverLimitsFromEnv, type ServerLimits } from '@pulsegate/http-kit';

/** Aggregator configuration, parsed once from the environment. Durations are ms unless named otherwise. */
export interface AggregatorConfig {
  host: string;
  /** Client time limits of the HTTP server (HTTP_* variables, see serverLimitsFromEnv). */
  http: ServerLimits;
  /** Default 8081. */
  port: number;
  /** Kafka brokers; empty = embedded memory bus. */
  kafkaBrokers: string[];
  /** Redis URL; null (with no cluster nodes) = in-memory window store. */
  redisUrl: string | null;
  redisClusterNodes: Array<{ host: string; port: number }>;
  apiKeys: ApiKeyEntry[];
  allowAnonymous: boolean;
  /** Consumer group of the invocations topic. Default pulsegate-aggregator. */
  groupId: string;
  /** Kafka consumer-group session timeout, ms: how soon a dead instance's partitions move. Default 30 s. */
  kafkaSessionTimeoutMs: number;
  /** Invocation partitions applied at once by one instance (Kafka). Default 1 (4 measured no faster on 2 shared cores). */
  partitionConcurrency: number;
  /** Most events one store apply (one Redis script call per slot) receives. Default 20 000. */
  maxBatchEvents: number;
  /** Kafka fetch size per partition, bytes. Default 4 MiB. */
  fetchMaxBytesPerPartition: number;
  /** Longest a Kafka fetch waits for data, ms (bounds freshness when the broker holds fetches). Default 100. */
  fetchMaxWaitMs: number;
  /** Series-days of merged settled hours kept in memory for long-window queries; 0 = off. Default 20 000. */
  queryDayCacheEntries: number;
  /** Most series one query may select (QUERY_MAX_SERIES). Default 10 000. */
  queryMaxSeries: number;
  /** Most bucket reads (series × buckets of the range) one request may need (QUERY_MAX_BUCKET_READS). Default 4 000 000. */
  queryMaxBucketReads: number;
  /** Bucket reads per store call and per step between event-loop turns (QUERY_CHUNK_BUCKETS). Default 2 000 (DEFAULT_CHUNK_BUCKETS). */
  queryChunkBuckets: number;
  /** Whether settled days and hours of the connectors are read into the query cache in the background (QUERY_CACHE_WARMUP). Default true. */
  queryCacheWarmup: boolean;
  /** How often the warm-up checks connectors for new settled hours and late writes, ms (QUERY_CACHE_WARMUP_INTERVAL_SECONDS). Default 60 s. */
  queryCacheWarmupIntervalMs: number;
  /** Most connectors kept warm, most recently seen first (QUERY_CACHE_WARMUP_MAX_CONNECTORS). Default 50. */
  queryCacheWarmupMaxConnectors: number;
  /** How often snapshots are published, ms. Default 10 s. */
  snapshotIntervalMs: number;
  minuteRetentionMs: number;
  /** Whether the Redis store also reads bucket layout-1 keys (written before layout 2). Default true. */
  readLegacyBuckets: boolean;
  hourRetentionMs: number;
  maxFutureSkewMs: number;
  /** How long span identities are remembered to absorb exporter retries, ms; 0 = dedup off. Default 10 min. */
  dedupHorizonMs: number;
  /** A series with no calls for this many days is stale. Default 90. */
  staleAfterDays: number;
  /** Most series the connector KPI gauges of /metrics report per scrape. Default 1000. */
  metricsMaxSeries: number;
  /** A batch failing for longer than this is stuck: /readyz degraded, stuck-batch gauges, ms. Default 60 s. */
  stuckAfterMs: number;
  /** Tries of a failing unit of an invocations batch before it is dead-lettered. Default 30. */
  batchMaxAttempts: number;
  /** Failed tries (retriable errors) before a batch is split to find the record at fault. Default 3. */
  batchIsolateAfter: number;
  logLevel: string;
}

const schema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: intVar('PORT', 8081, 0, 65_535),
  KAFKA_BROKERS: z.string().optional(),
  REDIS_URL: redisUrlVar('REDIS_URL'),
  REDIS_CLUSTER_NODES: hostPortListVar('REDIS_CLUSTER_NODES'),
  PULSEGATE_API_KEYS: z.string().optional(),
  PULSEGATE_ALLOW_ANONYMOUS: z.enum(['true', 'false', '']).optional(),
  AGGREGATOR_GROUP_ID: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'AGGREGATOR_GROUP_ID must be 1-200 of A-Z a-z 0-9 . _ -').default('pulsegate-aggregator'),
  SNAPSHOT_INTERVAL_SECONDS: intVar('SNAPSHOT_INTERVAL_SECONDS', 10, 1, 3_600),
  KAFKA_SESSION_TIMEOUT_MS: intVar('KAFKA_SESSION_TIMEOUT_MS', 30_000, 6_000, 300_000),
  AGGREGATOR_PARTITION_CONCURRENCY: intVar('AGGREGATOR_PARTITION_CONCURRENCY', 1, 1, 256),
  AGGREGATOR_MAX_BATCH_EVENTS: intVar('AGGREGATOR_MAX_BATCH_EVENTS', 20_000, 1, 1_000_000),
  AGGREGATOR_FETCH_MAX_WAIT_MS: intVar('AGGREGATOR_FETCH_MAX_WAIT_MS', 100, 10, 10_000),
  QUERY_DAY_CACHE_ENTRIES: intVar('QUERY_DAY_CACHE_ENTRIES', 20_000, 0, 10_000_000),
  QUERY_MAX_SERIES: intVar('QUERY_MAX_SERIES', 10_000, 1, 10_000_000),
  QUERY_MAX_BUCKET_READS: intVar('QUERY_MAX_BUCKET_READS', 4_000_000, 1, 1_000_000_000),
  // DEFAULT_CHUNK_BUCKETS of @pulsegate/windows, spelled out: config loads before the store's modules (see main.ts).
  QUERY_CHUNK_BUCKETS: intVar('QUERY_CHUNK_BUCKETS', 2_000, 1, 1_000_000),
  QUERY_CACHE_WARMUP: z.enum(['true', 'false'], { message: 'QUERY_CACHE_WARMUP must be true or false' }).default('true'),
  QUERY_CACHE_WARMUP_INTERVAL_SECONDS: intVar('QUERY_CACHE_WARMUP_INTERVAL_SECONDS', 60, 1, 86_400),
  QUERY_CACHE_WARMUP_MAX_CONNECTORS: intVar('QUERY_CACHE_WARMUP_MAX_CONNECTORS', 50, 0, 100_000),
  AGGREGATOR_FETCH_MAX_BYTES_PER_PARTITION: intVar('AGGREGATOR_FETCH_MAX_BYTES_PER_PARTITION', 4 * 1024 * 1024, 1_024, 64 * 1024 * 1024),
  AGGREGATOR_READ_LEGACY_BUCKETS: z.enum(['true', 'false'], { message: 'AGGREGATOR_READ_LEGACY_BUCKETS must be true or false' }).default('true'),
  MINUTE_RETENTION_HOURS: intVar('MINUTE_RETENTION_HOURS', 48, 1, 24 * 14),
  HOUR_RETENTION_DAYS: intVar('HOUR_RETENTION_DAYS', 35, 1, 400),
  MAX_FUTURE_SKEW_SECONDS: intVar('MAX_FUTURE_SKEW_SECONDS', 300, 0, 86_400),
  AGGREGATOR_DEDUP_HORIZON_MINUTES: intVar('AGGREGATOR_DEDUP_HORIZON_MINUTES', 10, 0, 1_440),
  STALE_AFTER_DAYS: intVar('STALE_AFTER_DAYS', 90, 1, 3_650),
  AGGREGATOR_METRICS_MAX_SERIES: intVar('AGGREGATOR_METRICS_MAX_SERIES', 1_000, 0, 1_000_000),
  AGGREGATOR_STUCK_AFTER_SECONDS: intVar('AGGREGATOR_STUCK_AFTER_SECONDS', 60, 1, 86_400),
  AGGREGATOR_BATCH_MAX_ATTEMPTS: intVar('AGGREGATOR_BATCH_MAX_ATTEMPTS', 30, 1, 10_000),
  AGGREGATOR_BATCH_ISOLATE_AFTER: intVar('AGGREGATOR_BATCH_ISOLATE_AFTER', 3, 1, 10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Parses the environment; throws an Error whose message names each offending variable. */
export function loadConfig(env: Record<string, string | undefined>): AggregatorConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error('invalid aggregator configuration: ' + parsed.error.issues.map((i) => (i.message.includes(String(i.path[0] ?? '')) ? i.message : `${String(i.path[0])}: ${i.message}`)).join('; '));
  }
  const e = parsed.data;
  const apiKeys = parseApiKeys(e.PULSEGATE_API_KEYS);
  const allowAnonymous = e.PULSEGATE_ALLOW_ANONYMOUS === 'true';
  if (isNonLoopback(e.HOST) && apiKeys.length === 0 && !allowAnonymous) {
    throw new Error(`HOST=${e.HOST} is not a loopback address and PULSEGATE_API_KEYS is empty: configure keys or set PULSEGATE_ALLOW_ANONYMOUS=true`);
  }
  const cfg: AggregatorConfig = {
    host: e.HOST,
    http: serverLimitsFromEnv(env),
    port: e.PORT,
    kafkaBrokers: (e.KAFKA_BROKERS ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    redisUrl: e.REDIS_URL === undefined || e.REDIS_URL === '' ? null : e.REDIS_URL,
    redisClusterNodes: (e.REDIS_CLUSTER_NODES ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => {
        const i = s.lastIndexOf(':');
        return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
      }),
    apiKeys,
    allowAnonymous,
    groupId: e.AGGREGATOR_GROUP_ID,
    kafkaSessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
    partitionConcurrency: e.AGGREGATOR_PARTITION_CONCURRENCY,
    maxBatchEvents: e.AGGREGATOR_MAX_BATCH_EVENTS,
    fetchMaxBytesPerPartition: e.AGGREGATOR_FETCH_MAX_BYTES_PER_PARTITION,
    queryDayCacheEntries: e.QUERY_DAY_CACHE_ENTRIES,
    queryMaxSeries: e.QUERY_MAX_SERIES,
    queryMaxBucketReads: e.QUERY_MAX_BUCKET_READS,
    queryChunkBuckets: e.QUERY_CHUNK_BUCKETS,
    queryCacheWarmup: e.QUERY_CACHE_WARMUP === 'true',
    queryCacheWarmupIntervalMs: e.QUERY_CACHE_WARMUP_INTERVAL_SECONDS * 1_000,
    queryCacheWarmupMaxConnectors: e.QUERY_CACHE_WARMUP_MAX_CONNECTORS,
    fetchMaxWaitMs: e.AGGREGATOR_FETCH_MAX_WAIT_MS,
    snapshotIntervalMs: e.SNAPSHOT_INTERVAL_SECONDS * 1_000,
    minuteRetentionMs: e.MINUTE_RETENTION_HOURS * 3_600_000,
    readLegacyBuckets: e.AGGREGATOR_READ_LEGACY_BUCKETS === 'true',
    hourRetentionMs: e.HOUR_RETENTION_DAYS * 86_400_000,
    maxFutureSkewMs: e.MAX_FUTURE_SKEW_SECONDS * 1_000,
    dedupHorizonMs: e.AGGREGATOR_DEDUP_HORIZON_MINUTES * 60_000,
    staleAfterDays: e.STALE_AFTER_DAYS,
    metricsMaxSeries: e.AGGREGATOR_METRICS_MAX_SERIES,
    stuckAfterMs: e.AGGREGATOR_STUCK_AFTER_SECONDS * 1_000,
    batchMaxAttempts: e.AGGREGATOR_BATCH_MAX_ATTEMPTS,
    batchIsolateAfter: e.AGGREGATOR_BATCH_ISOLATE_AFTER,
    logLevel: e.LOG_LEVEL,
  };
  if (cfg.minuteRetentionMs >= cfg.hourRetentionMs) throw new Error('MINUTE_RETENTION_HOURS must be shorter than HOUR_RETENTION_DAYS');
  return cfg;
}

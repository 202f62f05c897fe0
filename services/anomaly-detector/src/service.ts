import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import type { Express } from 'express';
import type { Bus, Subscription } from '@pulsegate/bus';
import { Topics, type MetricSnapshot } from '@pulsegate/events';
import { KeyRing } from '@pulsegate/http-kit';
import type { Logger } from '@pulsegate/logging';
import { createApp } from './app';
import type { AnomalyDetectorConfig } from './config';
import { Detector } from './detector';
import { Dispatcher } from './delivery/dispatcher';
import { AlertmanagerPusher } from './delivery/alertmanager-push';
import { RuleBook } from './rules/rule-book';
import { createDetectorMetrics, createSnapshotCounts } from './metrics';
import { decodeSnapshot } from './snapshot-decode';
import { MemoryStore } from './store/memory-store';
import { RedisStore } from './store/redis-store';
import type { DetectorStore } from './store/types';
import { SloEngine } from './slo/engine';
import { MemorySloLedgerStore, RedisSloLedgerStore, type SloLedgerStore } from './slo/ledger-store';
import { SloBook } from './slo/objectives';
import { MemoryAlertHistoryStore, RedisAlertHistoryStore, type AlertHistoryStore } from './history/store';

/** Dependencies of the service; store / redis / clock are optional (built from config otherwise). */
export interface AnomalyDetectorDeps {
  bus: Bus;
  logger: Logger;
  config: AnomalyDetectorConfig;
  /** Use this store (tests, launcher); otherwise Redis from config, else memory. */
  store?: DetectorStore;
  /** Use this SLO ledger store; otherwise Redis when the detector store is Redis, else memory. */
  sloStore?: SloLedgerStore;
  /** Use this alert history store; otherwise Redis when the detector store is Redis, else memory. */
  historyStore?: AlertHistoryStore;
  /** Use this Redis client for the store (not closed by the service). */
  redis?: Redis | Cluster;
  /** Epoch-ms clock; default Date.now. */
  clock?: () => number;
  /** Outbox poll period, ms (default 250). */
  deliveryPollMs?: number;
  fetchImpl?: typeof fetch;
}

export interface AnomalyDetectorService {
  app: Express;
  /** Starts the metrics consumer, webhook delivery and housekeeping. */
  start(): Promise<void>;
  /** Stops consuming, finishes the batch and delivery in flight, closes owned clients. Idempotent. */
  stop(): Promise<void>;
  isReady(): boolean;
  /** The detector core, for the launcher and tests (process a snapshot directly, sweep). */
  detector: Detector;
  dispatcher: Dispatcher;
  store: DetectorStore;
  slo: SloEngine;
  /** Pushes alerts to ALERTMANAGER_URLS (idle when none are configured). */
  alertmanager: AlertmanagerPusher;
  /** Alert history behind GET /v1/alerts/history. */
  history: AlertHistoryStore;
}

function buildStore(deps: AnomalyDetectorDeps, clock: () => number): { store: DetectorStore; client: Redis | Cluster | null; owned: boolean } {
  if (deps.store !== undefined) return { store: deps.store, client: deps.redis ?? null, owned: false };
  if (deps.redis !== undefined) return { store: new RedisStore(deps.redis), client: deps.redis, owned: false };
  const { config } = deps;
  if (config.redisClusterNodes.length > 0) {
    const c = new Cluster(config.redisClusterNodes, { redisOptions: { maxRetriesPerRequest: 3 } });
    return { store: new RedisStore(c, {}, true), client: c, owned: true };
  }
  if (config.redisUrl !== null) {
    const r = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
    return { store: new RedisStore(r, {}, true), client: r, owned: true };
  }
  return { store: new MemoryStore(clock), client: null, owned: true };
}

/** Builds the anomaly detector (embedded launcher and main.ts share this one code path). */
export async function createAnomalyDetectorService(deps: AnomalyDetectorDeps): Promise<AnomalyDetectorService> {
  const { bus, logger, config } = deps;
  const clock = deps.clock ?? Date.now;
  const { store, client, owned } = buildStore(deps, clock);
  const rules = new RuleBook(config.rules.overrides);
  const sloStore = deps.sloStore ?? (client !== null ? new RedisSloLedgerStore(client) : new MemorySloLedgerStore());
  const slo = new SloEngine({ store: sloStore, book: new SloBook(config.rules.slos), burnAlerts: config.rules.burnAlerts, clock, aggregatorUrl: config.aggregatorUrl, alerts: config.sloAlerts });
  const historyLimits = { retentionMs: config.alertHistoryRetentionMs, maxEntries: config.alertHistoryMaxEntries };
  const history = deps.historyStore ?? (client !== null ? new RedisAlertHistoryStore(client, historyLimits, clock) : new MemoryAlertHistoryStore(historyLimits, clock));
  const detector = new Detector({
    history,
    slo,
    store,
    bus,
    logger,
    clock,
    rules,
    receivers: config.rules.receivers,
    groupBy: config.rules.groupBy,
    repeatIntervalMs: config.rules.repeatIntervalMs,
    aggregatorUrl: config.aggregatorUrl,
    staleAfterMs: config.staleAfterMs,
    retentionMs: config.retentionMs,
  });
  const dispatcher = new Dispatcher({
    store,
    logger,
    clock,
    owner: `anomaly-detector-${randomUUID()}`,
    externalURL: config.externalUrl,
    timeoutMs: config.webhookTimeoutMs,
    maxAttempts: config.webhookMaxAttempts,
    backoff: { initialMs: config.webhookBackoffInitialMs, maxMs: config.webhookBackoffMaxMs },
    pollMs: deps.deliveryPollMs,
    fetchImpl: deps.fetchImpl,
    history,
  });

  const alertmanager = new AlertmanagerPusher({ store, logger, clock, urls: config.alertmanagerUrls, intervalMs: config.alertmanagerPushIntervalMs, fetchImpl: deps.fetchImpl, history });

  let subscription: Subscription | null = null;
  let sweepTimer: NodeJS.Timeout | null = null;
  let sweeping: Promise<void> | null = null;
  let started = false;
  let stopping: Promise<void> | null = null;

  const isReady = (): boolean => started && stopping === null && bus.isReady() && (client === null || client.status === 'ready');
  const snapshots = createSnapshotCounts();
  const metrics = createDetectorMetrics({ store, delivery: dispatcher.counts, snapshots, isReady, slo });
  const app = createApp({ store, history, slo, rules, rulesConfig: config.rules, keyRing: new KeyRing(config.apiKeys), logger, clock, isReady, metrics });

  const scheduleSweep = (): void => {
    if (config.sweepIntervalMs <= 0 || stopping !== null) return;
    sweepTimer = setTimeout(() => {
      sweeping = detector
        .sweep()
        .catch((err: unknown) => logger.warn({ err }, 'alert housekeeping failed; will retry'))
        .finally(() => {
          sweeping = null;
          scheduleSweep();
        });
    }, config.sweepIntervalMs);
  };

  return {
    app,
    detector,
    dispatcher,
    store,
    slo,
    alertmanager,
    history,
    isReady,
    async start() {
      if (started) return;
      subscription = await bus.subscribe<MetricSnapshot>({
        groupId: config.consumerGroup,
        topic: Topics.metrics,
        decode: (record) => {
          try {
            return decodeSnapshot(record);
          } catch (err) {
            snapshots.rejected += 1;
            throw err;
          }
        },
        handle: async (batch, ctx) => {
          for (const item of batch.items) {
            try {
              await detector.process(item.value);
              snapshots.consumed[item.value.type] = (snapshots.consumed[item.value.type] ?? 0) + 1;
            } catch (err) {
              // The runner retries the batch (store down is transient); say why it is stuck.
              logger.warn({ err, partition: batch.partition, offset: item.record.offset }, 'snapshot processing failed; batch will be retried');
              throw err;
            }
            await ctx.heartbeat();
          }
        },
      });
      dispatcher.start();
      alertmanager.start();
      scheduleSweep();
      started = true;
      logger.info({ store: store.kind, receivers: config.rules.receivers.map((r) => r.name) }, 'anomaly detector started');
    },
    stop() {
      stopping ??= (async () => {
        if (sweepTimer !== null) clearTimeout(sweepTimer);
        await subscription?.stop();
        await sweeping;
        await dispatcher.stop();
        await alertmanager.stop();
        if (owned) await store.close();
        logger.info('anomaly detector stopped');
      })();
      return stopping;
    },
  };
}

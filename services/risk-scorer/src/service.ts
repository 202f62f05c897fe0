import type { Express } from 'express';
import { Cluster, Redis } from 'ioredis';
import type { Bus, Subscription } from '@pulsegate/bus';
import { Topics } from '@pulsegate/events';
import { KeyRing } from '@pulsegate/http-kit';
import type { Logger } from '@pulsegate/logging';
import { createApp } from './app';
import type { RiskScorerConfig } from './config';
import { createRiskCounters, createRiskMetrics } from './metrics';
import { FileModelStore, MemoryModelStore, RedisModelStore, type ModelStore } from './model/store';
import { MemoryRiskStore } from './store/memory-store';
import { RedisRiskStore } from './store/redis-store';
import type { RiskStore } from './store/types';
import { alertHandler, decodeAlert, decodeRelease, decodeSnapshot, releaseHandler, snapshotHandler } from './telemetry/consume';

export interface RiskScorerDeps {
  bus: Bus;
  logger: Logger;
  config: RiskScorerConfig;
  /** State store; default Redis when configured, else memory. */
  store?: RiskStore;
  /** Model store; default Redis when configured, else files under config.modelDir when set, else memory. */
  models?: ModelStore;
  /** Clock, epoch ms. Default Date.now. */
  now?: () => number;
}

export interface RiskScorerService {
  app: Express;
  /** Subscribes to metrics, alerts and releases; the service is ready after this. */
  start(): Promise<void>;
  /** Unsubscribes and closes what the service opened. Idempotent. */
  stop(): Promise<void>;
  isReady(): boolean;
}

/** Consumer group ids of the risk scorer's subscriptions. */
export const RISK_GROUPS = { metrics: 'risk-scorer.metrics', alerts: 'risk-scorer.alerts', releases: 'risk-scorer.releases' } as const;

function redisFor(config: RiskScorerConfig): Redis | Cluster | undefined {
  if (config.redisClusterNodes.length > 0) return new Cluster(config.redisClusterNodes, { redisOptions: { maxRetriesPerRequest: 3 } });
  if (config.redisUrl !== undefined) return new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  return undefined;
}

/** Builds the risk scorer: catalog, features, model training and promotion assessments. */
export async function createRiskScorerService(deps: RiskScorerDeps): Promise<RiskScorerService> {
  const { bus, logger, config } = deps;
  const redis = deps.store === undefined || deps.models === undefined ? redisFor(config) : undefined;
  const store = deps.store ?? (redis !== undefined ? new RedisRiskStore(redis) : new MemoryRiskStore());
  const models = deps.models ?? (redis !== undefined ? new RedisModelStore(redis) : config.modelDir !== undefined ? new FileModelStore(config.modelDir) : new MemoryModelStore());
  let started = false;
  let stopping: Promise<void> | undefined;
  const subscriptions: Subscription[] = [];
  // Not ready while Redis is down: answers would fail and consumed batches could not be stored.
  const isReady = (): boolean => started && stopping === undefined && bus.isReady() && (redis === undefined || redis.status === 'ready');
  const counters = createRiskCounters();
  const tenants = config.apiKeys.length > 0 ? [...new Set(config.apiKeys.map((k) => k.tenant))] : ['default'];
  const metrics = createRiskMetrics({ counters, models, tenants, isReady });

  const app = createApp({
    store,
    models,
    bus,
    logger,
    keys: new KeyRing(config.apiKeys),
    cutoffs: config.cutoffs,
    trainSteps: config.trainSteps,
    ruleOverrides: config.ruleOverrides,
    aggregator: config.aggregatorUrl === undefined ? undefined : { baseUrl: config.aggregatorUrl },
    isReady,
    now: deps.now,
    counters,
    metrics,
  });

  return {
    app,
    isReady,
    async start() {
      if (started) return;
      if (!(await store.ping())) throw new Error('risk-scorer: state store (Redis) is not reachable');
      subscriptions.push(
        await bus.subscribe({ groupId: RISK_GROUPS.metrics, topic: Topics.metrics, decode: decodeSnapshot, handle: snapshotHandler(store) }),
        await bus.subscribe({ groupId: RISK_GROUPS.alerts, topic: Topics.alerts, decode: decodeAlert, handle: alertHandler(store) }),
        await bus.subscribe({ groupId: RISK_GROUPS.releases, topic: Topics.releases, decode: decodeRelease, handle: releaseHandler(store) }),
      );
      started = true;
      logger.info({ redis: redis !== undefined, bus: bus.kind }, 'risk scorer started');
    },
    stop() {
      stopping ??= (async () => {
        for (const s of subscriptions.splice(0)) await s.stop();
        await store.close();
        if (redis !== undefined) await redis.quit().catch(() => undefined);
      })();
      return stopping;
    },
  };
}

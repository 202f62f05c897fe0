import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBus, type Bus } from '@pulsegate/bus';
import { Topics } from '@pulsegate/events';
import { createLogger } from '@pulsegate/logging';
import { integration, startKafka, startRedis, startRedisCluster, type KafkaHandle, type RedisClusterHandle, type RedisHandle } from '@pulsegate/testkit';
import { RedisWindowStore, type WindowStore } from '@pulsegate/windows';
import { loadConfig } from '../src/config';
import { createAggregatorService, type AggregatorService } from '../src/service';
import { packed } from './builders';
import { checkApiAgainstReference } from './metrics-suite';
import { catalogFor, DEFAULT_TENANT, workload } from './fixtures';

const env = integration(['redis', 'redis-cluster', 'kafka']);
const logger = createLogger({ name: 'aggregator-it', level: 'silent' });

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(cond(), what).toBe(true);
}

describe.skipIf(env.skip)('aggregator service, distributed (Kafka-protocol broker + real Redis)', () => {
  // Real time: Redis expires keys by its own clock. Frozen for the run so windows are reproducible,
  // and 50 s into its minute: the 1m window is the current minute, which just after a minute boundary
  // would hold no event of the workload (~28 per minute) and test nothing.
  const NOW = Math.floor(Date.now() / 60_000) * 60_000 + 50_000;
  const events = workload(NOW);
  const catalog = catalogFor(NOW);
  let kafka: KafkaHandle;
  let redis: RedisHandle;
  let cluster: RedisClusterHandle;
  let producer: Bus;
  const running: Array<{ svc: AggregatorService; bus: Bus; store: WindowStore }> = [];

  beforeAll(async () => {
    [kafka, redis, cluster] = await Promise.all([startKafka(), startRedis(), startRedisCluster({ masters: 3 })]);
    producer = createBus({ KAFKA_BROKERS: kafka.brokers.join(','), clientId: 'aggregator-it-producer' });
    await producer.publish(Topics.catalog, [{ key: 'default/crm', value: JSON.stringify(catalog) }]);
    await producer.publish(Topics.invocations, packed(events, 200));
  });
  afterAll(async () => {
    for (const r of running) {
      await r.svc.stop();
      await r.bus.close();
      await r.store.close();
    }
    await producer?.close();
    await Promise.all([kafka?.stop(), redis?.stop(), cluster?.stop()]);
  });

  for (const target of ['single', 'cluster'] as const) {
    it(`answers every metric like the reference with ${target === 'single' ? 'one Redis server' : 'a 3-master Redis Cluster'}`, async () => {
      const config = loadConfig({ KAFKA_BROKERS: kafka.brokers.join(','), AGGREGATOR_GROUP_ID: `it-${target}-${NOW}`, SNAPSHOT_INTERVAL_SECONDS: '3600' });
      const store = new RedisWindowStore({ target: target === 'single' ? { url: redis.url } : { clusterNodes: cluster.nodes }, clock: () => NOW });
      const bus = createBus({ KAFKA_BROKERS: kafka.brokers.join(','), clientId: `aggregator-it-${target}` });
      const svc = await createAggregatorService({ bus, logger, config, store, clock: () => NOW });
      running.push({ svc, bus, store });
      await svc.start();
      await until(() => svc.stats.appliedEvents === events.length, `all ${events.length} events applied (got ${svc.stats.appliedEvents})`);
      for (let i = 0; i < 500 && (await store.getCatalog(DEFAULT_TENANT, 'crm')) === null; i++) await new Promise((r) => setTimeout(r, 20));
      expect(svc.stats.replayedEvents).toBe(0);
      // Pre-aggregation: far fewer Redis round trips than events.
      expect(svc.stats.storeCalls / events.length).toBeLessThan(0.05);
      await checkApiAgainstReference(svc.app, events, { tenant: DEFAULT_TENANT, now: NOW, catalog });
    });
  }
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integration, startKafka } from '@pulsegate/testkit';
import type { KafkaHandle } from '@pulsegate/testkit';
import { createBus, KafkaBus, MemoryBus } from '../src/index';
import { busContract } from './contract';

const needs = integration(['kafka']);

describe.skipIf(needs.skip)('KafkaBus on the harness broker', () => {
  let kafka: KafkaHandle;
  beforeAll(async () => {
    kafka = await startKafka();
  });
  afterAll(async () => {
    await kafka.stop();
  });

  // The mock broker holds a group's first JoinGroup for 3 s and rebalances in sessionTimeout − 1 s;
  // a session below ~3 s expires during that first join. These settings keep rebalances short.
  busContract('KafkaBus', () => new KafkaBus({
    brokers: kafka.brokers,
    clientId: 'bus-contract',
    consumer: { sessionTimeoutMs: 4_000, rebalanceTimeoutMs: 4_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 100 },
    retry: { initialMs: 50, maxMs: 500 },
  }), { concurrent: true });

  it('cuts handler batches by weight and handles partitions concurrently, each partition in order', async () => {
    const bus = new KafkaBus({ brokers: kafka.brokers, clientId: 'weights', maxBatchRecords: 1_000, consumer: { sessionTimeoutMs: 4_000, rebalanceTimeoutMs: 4_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 100 } });
    const topic = `weights.${Date.now()}`;
    try {
      // Values are weights 1..5; 20 keys spread the records over the 4 partitions.
      const sent = Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 20}`, value: String((i % 5) + 1) }));
      await bus.publish(topic, sent);
      const got = new Map<string, number[]>();
      const weights: number[] = [];
      const sub = await bus.subscribe<number>({
        groupId: `weights-${Date.now()}`, topic, concurrency: 4, maxBatchWeight: 10, weightOf: (v) => v,
        decode: (r) => Number(r.value.toString()),
        handle: async (batch) => {
          await new Promise((r) => setTimeout(r, 5));
          const w = batch.items.reduce((a, i) => a + i.value, 0);
          // Stops growing once it reaches 10: at most 10 + one record's weight − 1.
          weights.push(w);
          expect(w - batch.items[batch.items.length - 1]!.value).toBeLessThan(10);
          for (const i of batch.items) (got.get(i.record.key!) ?? got.set(i.record.key!, []).get(i.record.key!)!).push(Number(i.record.offset));
        },
      });
      const deadline = Date.now() + 20_000;
      while ([...got.values()].reduce((a, l) => a + l.length, 0) < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await sub.stop();
      expect([...got.values()].reduce((a, l) => a + l.length, 0)).toBe(sent.length);
      for (const offsets of got.values()) expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      expect(Math.max(...weights)).toBeLessThanOrEqual(14);
    } finally {
      await bus.close();
    }
  });

  it('createBus picks KafkaBus from KAFKA_BROKERS, becomes ready without a publish, and is not ready after close', async () => {
    const bus = createBus({ KAFKA_BROKERS: kafka.brokers.join(','), clientId: 'create-bus' });
    expect(bus).toBeInstanceOf(KafkaBus);
    const deadline = Date.now() + 10_000;
    while (!bus.isReady() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(bus.isReady()).toBe(true);
    // The mock cluster reports no controller, so the producer runs without idempotence (see README).
    expect((bus as KafkaBus).idempotent).toBe(false);
    await bus.close();
    expect(bus.isReady()).toBe(false);
    await expect(bus.publish('any', [{ key: 'k', value: 'v' }])).rejects.toThrow('bus is closed');
  });
});

describe('createBus', () => {
  it('is a MemoryBus without KAFKA_BROKERS', async () => {
    const bus = createBus({});
    expect(bus).toBeInstanceOf(MemoryBus);
    expect(createBus({ KAFKA_BROKERS: ' , ' })).toBeInstanceOf(MemoryBus);
    await bus.close();
  });
});

describe.skipIf(needs.skip)('KafkaBus through a broker outage', () => {
  let kafka: KafkaHandle;
  beforeAll(async () => {
    kafka = await startKafka();
  });
  afterAll(async () => {
    await kafka.stop();
  });

  it('rejects a publish retriably and turns not ready while the broker is stalled, then recovers', async () => {
    if (kafka.source === 'external') return;
    const bus = new KafkaBus({ brokers: kafka.brokers, clientId: 'outage', requestTimeoutMs: 500, producerRetries: 1, connectionTimeoutMs: 500, retry: { initialMs: 50, maxMs: 200 } });
    try {
      await bus.connect();
      await bus.publish('outage.t', [{ key: 'k', value: 'before' }]);
      expect(bus.isReady()).toBe(true);
      await kafka.pause();
      const failure = await bus.publish('outage.t', [{ key: 'k', value: 'during' }]).then(() => null, (e: unknown) => e);
      expect(failure).toMatchObject({ name: 'PulsegateError', retriable: true });
      expect(bus.isReady()).toBe(false);
      await kafka.resume();
      const deadline = Date.now() + 20_000;
      while (!bus.isReady() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(bus.isReady()).toBe(true);
      await bus.publish('outage.t', [{ key: 'k', value: 'after' }]);
    } finally {
      await kafka.resume();
      await bus.close();
    }
  });
});

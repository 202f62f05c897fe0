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

  it('a batch whose owner loses the partition mid-handler is handed to the new owner, not dead-lettered', async () => {
    const tuning = { sessionTimeoutMs: 4_000, rebalanceTimeoutMs: 4_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 100 };
    const busA = new KafkaBus({ brokers: kafka.brokers, clientId: 'rebalance-a', consumer: tuning, retry: { initialMs: 50, maxMs: 500 } });
    const busB = new KafkaBus({ brokers: kafka.brokers, clientId: 'rebalance-b', consumer: tuning, retry: { initialMs: 50, maxMs: 500 } });
    const topic = `rebalance.${Date.now()}`;
    const dlq = `${topic}.dlq`;
    const groupId = `rebalance-${Date.now()}`;
    try {
      const sent = Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 8}`, value: String(i) }));
      await busA.publish(topic, sent);
      const seen = new Set<string>();
      const deadLettered: string[] = [];
      const dlqSub = await busA.subscribe<string>({ groupId: `${groupId}-dlq`, topic: dlq, decode: (r) => r.value.toString(), handle: async (b) => void deadLettered.push(...b.items.map((i) => i.value)) });
      let heldOnce = false;
      let heartbeatFailed = false;
      let releaseA: () => void = () => undefined;
      const aHolding = new Promise<void>((resolve) => (releaseA = resolve));
      const subA = await busA.subscribe<string>({
        groupId, topic, deadLetterTopic: dlq,
        decode: (r) => r.value.toString(),
        handle: async (batch, ctx) => {
          if (!heldOnce) {
            heldOnce = true;
            releaseA();
            // Hold the batch until B has joined and the group has moved to a new generation: the
            // heartbeat then fails the way it does in production during a rebalance.
            for (let i = 0; i < 100; i++) {
              await new Promise((r) => setTimeout(r, 100));
              try {
                await ctx.heartbeat();
              } catch (err) {
                heartbeatFailed = true;
                throw err;
              }
            }
          }
          for (const item of batch.items) seen.add(item.value);
        },
      });
      await aHolding;
      const subB = await busB.subscribe<string>({ groupId, topic, deadLetterTopic: dlq, decode: (r) => r.value.toString(), handle: async (b) => void b.items.forEach((i) => seen.add(i.value)) });
      const deadline = Date.now() + 30_000;
      while (seen.size < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await Promise.all([subA.stop(), subB.stop(), dlqSub.stop()]);
      expect(heartbeatFailed).toBe(true);
      expect(seen.size).toBe(sent.length);
      expect(deadLettered).toEqual([]);
    } finally {
      await Promise.all([busA.close(), busB.close()]);
    }
  }, 60_000);

  describe('linger: fetched batches of a partition merged into larger handler batches', () => {
    const tuning = { sessionTimeoutMs: 4_000, rebalanceTimeoutMs: 4_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 100 };
    const waitUntil = async (what: string, cond: () => boolean, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    /** Per key, each delivered sequence number is at most one past the highest seen before: nothing skipped. */
    const expectNoGaps = (deliveries: Array<{ key: string; seq: number }>): void => {
      const high = new Map<string, number>();
      for (const d of deliveries) {
        expect(d.seq, `${d.key} #${d.seq} after #${high.get(d.key) ?? -1}`).toBeLessThanOrEqual((high.get(d.key) ?? -1) + 1);
        high.set(d.key, Math.max(d.seq, high.get(d.key) ?? -1));
      }
    };

    it('hands a backlog of small produce requests to the handler in fewer, larger batches, in order, nothing lost or duplicated', async () => {
      const bus = new KafkaBus({ brokers: kafka.brokers, clientId: 'linger-merge', consumer: tuning });
      const topic = `linger-merge.${Date.now()}`;
      try {
        // 60 produce requests of 5 records of one key (one partition): the mock broker answers a
        // fetch with about one produce request's records.
        const requests = 60;
        for (let r = 0; r < requests; r++) await bus.publish(topic, Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: String(r * 5 + i) })));
        const sizes: number[] = [];
        const got: number[] = [];
        const sub = await bus.subscribe<number>({
          groupId: `linger-merge-${Date.now()}`, topic, lingerMs: 10_000,
          decode: (r) => Number(r.value.toString()),
          handle: async (batch) => {
            sizes.push(batch.items.length);
            expect(batch.firstOffset).toBe(batch.items[0]!.record.offset);
            expect(batch.lastOffset).toBe(batch.items[batch.items.length - 1]!.record.offset);
            got.push(...batch.items.map((i) => i.value));
          },
        });
        await waitUntil('every record', () => got.length >= requests * 5, 30_000);
        await sub.stop();
        expect(got).toEqual(Array.from({ length: requests * 5 }, (_, i) => i));
        expect(sizes.length).toBeLessThan(requests);
        expect(Math.max(...sizes)).toBeGreaterThan(5);
      } finally {
        await bus.close();
      }
    });

    it('handles the records of a caught-up partition without waiting for lingerMs', async () => {
      const bus = new KafkaBus({ brokers: kafka.brokers, clientId: 'linger-caught-up', consumer: tuning });
      const topic = `linger-caught-up.${Date.now()}`;
      try {
        await bus.publish(topic, [{ key: 'k', value: 'first' }]);
        const got: string[] = [];
        const sub = await bus.subscribe<string>({ groupId: `linger-caught-up-${Date.now()}`, topic, lingerMs: 120_000, decode: (r) => r.value.toString(), handle: async (b) => void got.push(...b.items.map((i) => i.value)) });
        await waitUntil('the first record', () => got.length === 1, 30_000);
        for (let i = 0; i < 3; i++) {
          await bus.publish(topic, [{ key: 'k', value: `next-${i}` }]);
          // Bounded wait far below lingerMs: a caught-up partition is handled at once.
          await waitUntil(`record next-${i}`, () => got.length === i + 2, 10_000);
        }
        await sub.stop();
        expect(got).toEqual(['first', 'next-0', 'next-1', 'next-2']);
      } finally {
        await bus.close();
      }
    });

    it('loses nothing pending when the group rebalances or a member stops mid-backlog (at least once, per key in order)', async () => {
      const buses = ['a', 'b', 'c'].map((n) => new KafkaBus({ brokers: kafka.brokers, clientId: `linger-rebalance-${n}`, consumer: tuning, maxBatchRecords: 7, retry: { initialMs: 50, maxMs: 500 } }));
      const [busA, busB, busC] = buses as [KafkaBus, KafkaBus, KafkaBus];
      const topic = `linger-rebalance.${Date.now()}`;
      const groupId = `linger-rebalance-${Date.now()}`;
      try {
        const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
        const sent = Array.from({ length: 75 }, (_, seq) => keys.map((key) => ({ key, value: `${key}#${seq}` }))).flat();
        for (let i = 0; i < sent.length; i += 100) await busA.publish(topic, sent.slice(i, i + 100));
        const deliveries: Array<{ key: string; seq: number }> = [];
        // lingerMs far beyond the test: records left pending by a rebalance or stop are only
        // handled if the runner hands them over (stop) or they are read again (rebalance).
        const subscribe = (bus: KafkaBus) =>
          bus.subscribe<string>({
            groupId, topic, lingerMs: 600_000,
            decode: (r) => r.value.toString(),
            handle: async (batch) => {
              await new Promise((r) => setTimeout(r, 30));
              for (const i of batch.items) deliveries.push({ key: i.record.key!, seq: Number(i.value.split('#')[1]) });
            },
          });
        const distinct = (): number => new Set(deliveries.map((d) => `${d.key}#${d.seq}`)).size;
        const subA = await subscribe(busA);
        await waitUntil('A to handle some', () => deliveries.length >= 40, 30_000);
        const subB = await subscribe(busB); // rebalance while A has records pending
        await waitUntil('B to join and handle some', () => deliveries.length >= 200, 30_000);
        await subA.stop(); // stop with records pending: handed over or read again by the group
        const subC = await subscribe(busC);
        await waitUntil('every record', () => distinct() >= sent.length, 45_000);
        await Promise.all([subB.stop(), subC.stop()]);
        expect(distinct()).toBe(sent.length);
        // Per partition, handlers run one batch at a time and a rewind goes back to the committed
        // offset: a key's deliveries may repeat but never skip ahead.
        for (const key of keys) expectNoGaps(deliveries.filter((d) => d.key === key));
      } finally {
        await Promise.all(buses.map((b) => b.close()));
      }
    }, 120_000);
  });

  it('stop() gives up on a consumer that does not finish within stopTimeoutMs instead of hanging', async () => {
    const warnings: string[] = [];
    const quiet = (): void => undefined;
    const bus = new KafkaBus({
      brokers: kafka.brokers,
      clientId: 'bounded-stop',
      consumer: { sessionTimeoutMs: 4_000, rebalanceTimeoutMs: 4_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 100, stopTimeoutMs: 200 },
      logger: { error: quiet, info: quiet, debug: quiet, warn: (_obj, msg) => warnings.push(msg) },
    });
    const topic = `bounded-stop.${Date.now()}`;
    try {
      await bus.publish(topic, [{ key: 'k', value: 'v' }]);
      let started!: () => void;
      const handling = new Promise<void>((r) => (started = r));
      const sub = await bus.subscribe<string>({
        groupId: `bounded-stop-${Date.now()}`, topic,
        decode: (r) => r.value.toString(),
        // A handler that never settles keeps consumer.disconnect() waiting forever.
        handle: () => {
          started();
          return new Promise<void>(() => undefined);
        },
      });
      await handling;
      await sub.stop();
      expect(warnings.some((m) => m.includes('did not stop in time'))).toBe(true);
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

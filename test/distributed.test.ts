import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBus, type Subscription } from '@pulsegate/bus';
import { Topics, decodeInvocationBatch, type InvocationEvent } from '@pulsegate/events';
import { freePort, integration, startKafka, startRedis, type KafkaHandle, type RedisHandle } from '@pulsegate/testkit';
import { bySpanId, exportCalls } from './support/otel';
import { startService, type ServiceProcess } from './support/processes';
import { contosoCalls, reference } from './support/scenario';

async function eventually<T>(probe: () => Promise<T | undefined>, attempts = 150, delayMs = 200): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error('condition not met in time');
}

describe.skipIf(integration(['redis', 'kafka']).skip)('distributed pipeline: ingest and aggregator as processes, Kafka-protocol broker, Redis', () => {
  let kafka: KafkaHandle;
  let redis: RedisHandle;
  let ingest: ServiceProcess;
  let aggregator: ServiceProcess;
  let tap: KafkaBus;
  let subscription: Subscription;
  const seen: InvocationEvent[] = [];

  beforeAll(async () => {
    kafka = await startKafka();
    redis = await startRedis();
    const env = { KAFKA_BROKERS: kafka.brokers.join(','), REDIS_URL: redis.url };
    [ingest, aggregator] = await Promise.all([startService('ingest', await freePort(), env), startService('aggregator', await freePort(), { ...env, SNAPSHOT_INTERVAL_SECONDS: '2' })]);
    // A consumer of our own, in its own group, sees exactly what ingest put on the topic.
    tap = new KafkaBus({ brokers: kafka.brokers, clientId: 'e2e-tap' });
    await tap.connect();
    subscription = await tap.subscribe({
      groupId: `e2e-tap-${Date.now()}`,
      topic: Topics.invocations,
      decode: (r) => decodeInvocationBatch(r.value),
      handle: async (batch) => {
        for (const item of batch.items) seen.push(...item.value);
      },
    });
  }, 180_000);

  afterAll(async () => {
    await subscription?.stop();
    await tap?.close();
    await Promise.all([ingest?.stop(), aggregator?.stop()]);
    await redis?.stop();
    await kafka?.stop();
  }, 60_000);

  it('every span exported by the real SDK arrives on Kafka field for field and is counted exactly once in Redis', async () => {
    const calls = contosoCalls(800, Date.now(), 11);
    const sent = [...(await exportCalls(ingest.url, 'json', calls.slice(0, 300))), ...(await exportCalls(ingest.url, 'proto-gzip', calls.slice(300)))];
    expect(sent).toHaveLength(800);

    await eventually(async () => (seen.length >= sent.length ? true : undefined));
    expect(bySpanId(seen)).toEqual(bySpanId(sent));

    const want = reference(sent);
    const body = await eventually(async () => {
      const b = (await (await fetch(`${aggregator.url}/v1/connectors/ContosoSales/metrics?window=15m`)).json()) as Record<string, unknown>;
      return b.calls === want.calls ? b : undefined;
    });
    expect(body).toMatchObject({ calls: want.calls, successes: want.successes, throttled: want.throttled, errorCodes: want.errorCodes });
    const latency = body.latencyMs as Record<'p50' | 'p95' | 'p99', number>;
    for (const q of ['p50', 'p95', 'p99'] as const) expect(Math.abs(latency[q] - want[q]) / want[q]).toBeLessThanOrEqual(0.01);
  }, 180_000);

  it('stops on SIGTERM with exit code 0', async () => {
    expect(await ingest.stop()).toBe(0);
    expect(await aggregator.stop()).toBe(0);
  }, 60_000);
});

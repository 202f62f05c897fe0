import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBus, type Subscription } from '@pulsegate/bus';
import { Topics, encodeInvocationBatch, seriesKey, type InvocationEvent } from '@pulsegate/events';
import { freePort, integration, startKafka, startRedis, type KafkaHandle, type RedisHandle } from '@pulsegate/testkit';
import { eventually, launch, report, settledCount, type ServiceProc } from './support/pipeline';
import { sendSpans } from './support/spans';

function event(i: number, overrides: Partial<InvocationEvent> = {}): InvocationEvent {
  return {
    schemaVersion: 1,
    tenant: 'default',
    connector: 'PoisonGood',
    connectorVersion: '1.0.0',
    action: 'ListThings',
    httpMethod: 'GET',
    kind: 'read',
    httpStatus: 200,
    outcome: 'success',
    errorCode: null,
    latencyMs: 100 + (i % 50),
    eventTime: Date.now() - 5_000,
    correlationId: null,
    traceId: i.toString(16).padStart(32, '0'),
    spanId: (i + 1).toString(16).padStart(16, '0'),
    sampleWeight: 1,
    ...overrides,
  };
}

describe.skipIf(integration(['redis', 'kafka']).skip)('faults: poison messages, webhook receiver down', () => {
  let kafka: KafkaHandle;
  let redis: RedisHandle;
  let ingest: ServiceProc;
  let aggregator: ServiceProc;
  let detector: ServiceProc;
  let bus: KafkaBus;
  let env: Record<string, string>;
  let hookPort: number;

  beforeAll(async () => {
    [kafka, redis] = await Promise.all([startKafka(), startRedis({ appendonly: true })]);
    env = { KAFKA_BROKERS: kafka.brokers.join(','), REDIS_URL: redis.url, KAFKA_SESSION_TIMEOUT_MS: '6000' };
    hookPort = await freePort(); // nothing listens here yet: the receiver is down
    const aggregatorPort = await freePort();
    [ingest, aggregator] = await Promise.all([launch('ingest', await freePort(), env), launch('aggregator', aggregatorPort, { ...env, SNAPSHOT_INTERVAL_SECONDS: '1' })]);
    detector = await launch('anomaly-detector', await freePort(), {
      ...env,
      AGGREGATOR_URL: aggregator.url,
      WEBHOOK_URLS: `http://127.0.0.1:${hookPort}/hook`,
      // This suite counts threshold-rule notifications exactly; SLO alerts have their own end-to-end test.
      SLO_ALERTS: 'false',
      // Short backoff so "down for minutes" fits in seconds; many attempts so none is given up.
      WEBHOOK_BACKOFF_INITIAL_MS: '200',
      WEBHOOK_BACKOFF_MAX_MS: '1000',
      WEBHOOK_MAX_ATTEMPTS: '100',
      WEBHOOK_TIMEOUT_MS: '1000',
    });
    bus = new KafkaBus({ brokers: kafka.brokers, clientId: 'faults-poison' });
    await bus.connect();
  });

  afterAll(async () => {
    await bus?.close();
    await Promise.all([ingest, aggregator, detector].map((s) => s?.stop()));
    await redis?.stop();
    await kafka?.stop();
  });

  it('poison messages on the invocations topic go to the dead-letter topic with the reason; the consumer keeps going', async () => {
    const dead: Array<{ reason: string; value: string }> = [];
    const tap: Subscription = await bus.subscribe({
      groupId: `faults-dlq-${Date.now()}`,
      topic: Topics.invocationsDeadLetter,
      decode: (r) => ({ reason: r.headers['x-dlq-reason'] ?? '', source: r.headers['x-dlq-topic'] ?? '', value: r.value.toString('utf8') }),
      handle: async (batch) => {
        for (const item of batch.items) if (item.value.source === Topics.invocations) dead.push(item.value);
      },
    });
    try {
      const key = seriesKey('default', 'PoisonGood'); // same partition as the good batches
      const poison: Array<[string, Buffer]> = [
        ['undecodable', Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x22])],
        ['wrong schema version', encodeInvocationBatch([event(0, { schemaVersion: 99 as 1 })])],
        ['negative latency', encodeInvocationBatch([event(0, { latencyMs: -5 })])],
        ['absurd status', encodeInvocationBatch([event(0, { httpStatus: 99_999 })])],
        ['absurd latency', encodeInvocationBatch([event(0, { latencyMs: 1e300 })])],
        ['wrong types', Buffer.from(JSON.stringify({ format: 'pulsegate.invocation-batch', v: 1, events: [{ ...event(0), latencyMs: 'fast', tenant: 7 }] }))],
        ['not a batch', Buffer.from('{"hello":"world"}')],
      ];
      let good = 0;
      let n = 0;
      for (const [, value] of poison) {
        const batch = Array.from({ length: 100 }, () => event(n++));
        await bus.publish(Topics.invocations, [{ key, value: encodeInvocationBatch(batch) }, { key, value }]);
        good += batch.length;
      }
      const last = Array.from({ length: 100 }, () => event(n++));
      await bus.publish(Topics.invocations, [{ key, value: encodeInvocationBatch(last) }]);
      good += last.length;

      const count = await settledCount(aggregator.url, ['PoisonGood'], good);
      await eventually(async () => (dead.length >= poison.length ? true : undefined), 'dead letters', 30_000).catch((err: Error) => {
        throw new Error(`${err.message}; got ${dead.length}: ${JSON.stringify(dead).slice(0, 2000)}; counted ${count} of ${good}`);
      });
      const { lost, duplicated } = report('poison messages', good, count, `(poison sent ${poison.length}, dead-lettered ${dead.length})`);
      expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
      expect(dead).toHaveLength(poison.length);
      for (const d of dead) expect(d.reason.length, `reason for ${d.value.slice(0, 60)}`).toBeGreaterThan(5);
      // Each poison value is there, unchanged, for inspection and replay.
      expect(dead.map((d) => d.value).sort()).toEqual(poison.map(([, v]) => v.toString('utf8')).sort());
      expect(aggregator.alive()).toBe(true);
    } finally {
      await tap.stop();
    }
  });

  it('webhook receiver down for a while: the notification is retried and delivered once when it is back', async () => {
    // 10 % throttles over 200 calls: ThrottleRateHigh fires at once (minCalls 50, for 0).
    await sendSpans(ingest.url, 'HookConn', 200);
    const alert = await eventually(async () => {
      const r = (await (await fetch(`${detector.url}/v1/alerts?connector=HookConn&state=firing`)).json()) as { alerts: Array<{ fingerprint: string; labels: Record<string, string> }> };
      return r.alerts.find((a) => a.labels.alertname === 'ThrottleRateHigh');
    }, 'ThrottleRateHigh firing', 60_000);
    // The dispatcher is now failing to connect, attempt after attempt.
    await new Promise((r) => setTimeout(r, 8_000));

    const received: Array<{ key: string; alerts: Array<{ status: string; fingerprint?: string; labels: Record<string, string> }> }> = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push({ key: String(req.headers['idempotency-key']), ...(JSON.parse(body) as { alerts: Array<{ status: string; labels: Record<string, string> }> }) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(hookPort, '127.0.0.1', resolve));
    try {
      await eventually(async () => (received.some((r) => r.alerts.some((a) => a.labels.alertname === 'ThrottleRateHigh' && a.labels.connector === 'HookConn')) ? true : undefined), 'webhook delivered', 30_000);
      // Give a duplicate every chance to show up.
      await new Promise((r) => setTimeout(r, 4_000));
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    // Every alert firing for HookConn (its read and its write series may both fire) reaches the
    // receiver exactly once.
    const api = (await (await fetch(`${detector.url}/v1/alerts?connector=HookConn&state=firing`)).json()) as { alerts: Array<{ fingerprint: string }> };
    const expected = api.alerts.map((a) => a.fingerprint).sort();
    const firing = received.flatMap((r) => r.alerts).filter((a) => a.labels.connector === 'HookConn' && a.status === 'firing');
    const keys = received.map((r) => r.key);
    report('webhook receiver down', expected.length, firing.length, `(alerts ${expected.join(', ')}; deliveries ${received.length}, distinct idempotency keys ${new Set(keys).size})`);
    expect(expected).toContain(alert.fingerprint);
    expect(firing.map((a) => a.fingerprint).sort(), JSON.stringify(received).slice(0, 2000)).toEqual(expected);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

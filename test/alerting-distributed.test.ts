import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBus } from '@pulsegate/bus';
import { Topics, type SeriesSnapshot, type WindowMetrics } from '@pulsegate/events';
import { freePort, integration, startKafka, startRedis, type KafkaHandle, type RedisHandle } from '@pulsegate/testkit';
import { fingerprint } from '@pulsegate/anomaly-detector';
import { until } from './support/poll';
import { startService, type ServiceProcess } from './support/processes';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';

const CONNECTORS = ['crm', 'erp', 'billing', 'tickets', 'mail', 'files'];

/** A window's metrics from counts, with the rates defined as the aggregator defines them. */
function windowOf(name: string, at: number, calls: number, successes: number): WindowMetrics {
  return {
    window: name,
    from: at - (name === '1h' ? 3_600_000 : 300_000),
    to: at,
    calls,
    successes,
    successRate: successes / calls,
    throttled: 0,
    throttleRate: 0,
    latencyMs: { p50: 60, p95: 120, p99: 150 },
    errorCodes: calls > successes ? { INTERNAL_ERROR: calls - successes } : {},
    errorMappingCoverage: calls > successes ? 1 : null,
  };
}

function snapshot(connector: string, at: number, successes: number): SeriesSnapshot {
  return {
    type: 'series',
    schemaVersion: 1,
    tenant: 'acme',
    connector,
    action: 'sync',
    version: '2.0.0',
    kind: 'read',
    at,
    windows: { '5m': windowOf('5m', at, 200, successes), '1h': windowOf('1h', at, 200, successes) },
  };
}

const labelsOf = (connector: string): Record<string, string> => ({ alertname: 'SuccessRateLow', tenant: 'acme', connector, action: 'sync', version: '2.0.0', kind: 'read', severity: 'critical' });

/** Sum of one counter over both instances' /metrics. */
async function total(instances: ServiceProcess[], metric: string): Promise<number> {
  let sum = 0;
  for (const p of instances) {
    const text = await (await fetch(`${p.url}/metrics`)).text();
    for (const m of text.matchAll(new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))) sum += Number(m[1]);
  }
  return sum;
}

describe.skipIf(integration(['redis', 'kafka']).skip)('alerting across two detector processes: one consumer group on Kafka, shared Redis', () => {
  let kafka: KafkaHandle;
  let redis: RedisHandle;
  let receiver: WebhookReceiver;
  let producer: KafkaBus;
  let dir: string;
  let t1 = 0;
  const instances: ServiceProcess[] = [];

  const publish = (snaps: SeriesSnapshot[]): Promise<void> =>
    producer.publish(
      Topics.metrics,
      snaps.map((s) => ({ key: `${s.tenant}\u001f${s.connector}`, value: JSON.stringify(s) })),
    );

  beforeAll(async () => {
    [kafka, redis, receiver] = await Promise.all([startKafka(), startRedis(), startWebhookReceiver()]);
    dir = mkdtempSync(join(tmpdir(), 'pulsegate-alerting-'));
    // No `for` and no keep_firing_for: one breaching snapshot fires, one healthy snapshot resolves.
    const rulesFile = join(dir, 'rules.yaml');
    writeFileSync(rulesFile, 'rules:\n  - rule: SuccessRateLow\n    for: 0\n    keep_firing_for: 0\n');
    const env = {
      KAFKA_BROKERS: kafka.brokers.join(','),
      REDIS_URL: redis.url,
      RULES_FILE: rulesFile,
      WEBHOOK_URLS: receiver.url,
      // This suite counts threshold-rule notifications exactly; SLO alerts have their own end-to-end test.
      SLO_ALERTS: 'false',
      WEBHOOK_BACKOFF_INITIAL_MS: '50',
      WEBHOOK_BACKOFF_MAX_MS: '500',
      CONSUMER_GROUP: `alerting-e2e-${Date.now()}`,
      // The librdkafka mock loses a late follower's SyncGroup after a rebalance (packages/bus
      // README); the consumer restarts, and a short session keeps that recovery within seconds.
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      LOG_LEVEL: 'info',
    };
    // The first breaching round is on the topic before the detectors start, as it would be with an
    // aggregator already running (and the topic exists before two consumers race to create it).
    producer = new KafkaBus({ brokers: kafka.brokers, clientId: 'alerting-e2e' });
    await producer.connect();
    t1 = Date.now();
    await publish(CONNECTORS.map((c) => snapshot(c, t1, 150)));
    const ports = [await freePort(), await freePort()];
    instances.push(...(await Promise.all(ports.map((port) => startService('anomaly-detector', port, env)))));
  }, 120_000);

  afterAll(async () => {
    await producer?.close();
    for (const p of instances) await p.stop();
    await receiver?.close();
    await redis?.stop();
    await kafka?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /** Waits like `until`, and on time-out says what the processes logged. */
  const waitFor = async <T>(probe: () => T | undefined | Promise<T | undefined>, what: string, limitMs: number): Promise<T> => {
    try {
      return await until(probe, what, limitMs);
    } catch (err) {
      const logs = instances.map((p) => `--- ${p.name} ${p.url}\n${p.output().slice(-3000)}`).join('\n');
      throw new Error(`${(err as Error).message}; received ${JSON.stringify(receiver.alerts())}\n${logs}`);
    }
  };

  it('delivers each firing and each resolved notification exactly once', async () => {
    // Six connectors spread their records over the partitions both instances share. At-least-once
    // redelivery (a rebalance while the group forms) must not notify twice: send the round again.
    await publish(CONNECTORS.map((c) => snapshot(c, t1, 150)));
    await waitFor(() => (receiver.alerts().length >= CONNECTORS.length ? true : undefined), 'firing notifications', 45_000);

    const t2 = Math.max(Date.now(), t1 + 1);
    await publish(CONNECTORS.map((c) => snapshot(c, t2, 200)));
    await waitFor(() => (receiver.alerts().length >= 2 * CONNECTORS.length ? true : undefined), 'resolved notifications', 30_000);

    // One more healthy round, evaluated by the group, then both dispatchers have had their say.
    await publish(CONNECTORS.map((c) => snapshot(c, t2 + 1000, 200)));
    const published = 4 * CONNECTORS.length;
    await waitFor(async () => ((await total(instances, 'pulsegate_anomaly_snapshots_consumed_total')) >= published ? true : undefined), 'every snapshot consumed', 30_000);
    await waitFor(async () => ((await total(instances, 'pulsegate_anomaly_notifications_sent_total')) === 2 * CONNECTORS.length ? true : undefined), 'sent counters', 10_000);

    const want = CONNECTORS.flatMap((c) => {
      const fp = fingerprint(labelsOf(c));
      return [`SuccessRateLow:${fp}:firing`, `SuccessRateLow:${fp}:resolved`];
    });
    expect([...receiver.alerts()].sort()).toEqual(want.sort());
    for (const c of CONNECTORS) {
      const mine = receiver.received.flatMap((r) => r.payload.alerts).filter((a) => a.labels.connector === c);
      expect(mine.map((a) => a.status), c).toEqual(['firing', 'resolved']);
      expect(mine[0]).toMatchObject({ labels: labelsOf(c), startsAt: new Date(t1).toISOString(), endsAt: '0001-01-01T00:00:00Z', annotations: { value: '0.75', threshold: '0.99', calls: '200' } });
      expect(mine[1]).toMatchObject({ startsAt: new Date(t1).toISOString(), endsAt: new Date(t2).toISOString() });
    }
    for (const { payload } of receiver.received) expect(payload).toMatchObject({ version: '4', receiver: 'webhook-0' });
    const keys = receiver.received.map((r) => r.idempotencyKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(await total(instances, 'pulsegate_anomaly_notifications_dead_lettered_total')).toBe(0);
    // Both processes are part of the group and alive to the end.
    for (const p of instances) expect((await fetch(`${p.url}/readyz`)).status, p.name).toBe(200);
  }, 90_000);

  it('both processes stop cleanly on SIGTERM', async () => {
    for (const p of instances) expect(await p.stop(), p.output().slice(-2000)).toBe(0);
  }, 30_000);
});

import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topics } from '@pulsegate/events';
import { freePort, integration, startKafka, startRedis, type KafkaHandle, type RedisHandle } from '@pulsegate/testkit';
import { launch, report, settledCount, waitFor, type ServiceProc } from './support/pipeline';
import { otlpJson, postTraces } from './support/otlp-json';
import { sendSpans } from './support/spans';

/** The aggregator's pulsegate_aggregator_events_duplicate_total for the default tenant. */
const duplicatesCounted = async (url: string): Promise<number> => Number(/^pulsegate_aggregator_events_duplicate_total\{tenant="default"\} (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
const status = async (url: string): Promise<number> => (await fetch(url, { signal: AbortSignal.timeout(3_000) }).catch(() => ({ status: 0 }))).status;

describe.skipIf(integration(['redis', 'kafka']).skip)('faults: Redis crash, broker outage, ingest overload', () => {
  let kafka: KafkaHandle;
  let redis: RedisHandle;
  let ingest: ServiceProc;
  let aggregator: ServiceProc;
  let detector: ServiceProc;
  let risk: ServiceProc;
  let env: Record<string, string>;

  beforeAll(async () => {
    [kafka, redis] = await Promise.all([startKafka(), startRedis({ appendonly: true })]);
    env = { KAFKA_BROKERS: kafka.brokers.join(','), REDIS_URL: redis.url, KAFKA_SESSION_TIMEOUT_MS: '6000' };
    [ingest, aggregator] = await Promise.all([
      launch('ingest', await freePort(), { ...env, INGEST_RETRY_AFTER_SECONDS: '2' }),
      launch('aggregator', await freePort(), env),
    ]);
    [detector, risk] = await Promise.all([launch('anomaly-detector', await freePort(), env), launch('risk-scorer', await freePort(), env)]);
  });

  afterAll(async () => {
    await Promise.all([ingest, aggregator, detector, risk].map((s) => s?.stop()));
    await redis?.stop();
    await kafka?.stop();
  });

  it('Redis killed and restarted (AOF): services not ready meanwhile, offsets not committed, totals exact after self-recovery', async () => {
    await sendSpans(ingest.url, 'RedisBefore', 2_000);
    expect(await settledCount(aggregator.url, ['RedisBefore'], 2_000, 60_000, 500)).toBe(2_000);

    const admin = new Kafka({ brokers: kafka.brokers, clientId: 'faults-admin', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const committed = async (): Promise<number> => {
      const [t] = await admin.fetchOffsets({ groupId: 'pulsegate-aggregator', topics: [Topics.invocations] });
      return t!.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    };
    try {
      await redis.kill();
      for (const s of [aggregator, detector, risk]) await waitFor(`${s.url}/readyz`, 503, 30_000, `${s.name} /readyz while Redis is down`);
      const offsetsAtCrash = await committed();
      // Ingest needs no Redis: these are accepted and wait on the topic.
      await sendSpans(ingest.url, 'RedisDuring', 2_000);
      await new Promise((r) => setTimeout(r, 4_000));
      expect(await committed()).toBe(offsetsAtCrash);
      for (const s of [aggregator, detector, risk]) expect(await status(`${s.url}/readyz`)).toBe(503);
      expect([aggregator, detector, risk].every((s) => s.alive())).toBe(true);

      await redis.restart();
      for (const s of [aggregator, detector, risk]) await waitFor(`${s.url}/readyz`, 200, 60_000, `${s.name} /readyz after Redis is back`);
      const count = await settledCount(aggregator.url, ['RedisBefore', 'RedisDuring'], 4_000);
      expect(await committed()).toBeGreaterThan(offsetsAtCrash);
      const { lost, duplicated } = report('Redis SIGKILL + restart (AOF)', 4_000, count);
      expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
    } finally {
      await admin.disconnect();
    }
  });

  it('broker outage (paused, data kept): ingest answers 503 + Retry-After, the real exporter retries, every span counted once', async () => {
    await kafka.pause();
    let held: Promise<Awaited<ReturnType<typeof postTraces>>> | undefined;
    let refused: Awaited<ReturnType<typeof postTraces>>;
    let sending: Promise<void> | undefined;
    try {
      // The first request is handed to the bus and waits for its acknowledgement...
      held = postTraces(ingest.url, otlpJson('BrokerHeld', 5));
      await new Promise((r) => setTimeout(r, 1_500));
      // ...after which ingest knows the broker is stalled and refuses new work at once.
      refused = await postTraces(ingest.url, otlpJson('BrokerRefused', 5), 5_000);
      sending = sendSpans(ingest.url, 'BrokerOutage', 3_000, { batch: 250, timeoutMillis: 60_000 });
      await new Promise((r) => setTimeout(r, 3_500));
    } finally {
      await kafka.resume();
    }
    expect(refused.status).toBe(503);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refused.body).toMatchObject({ error: { code: 'UNAVAILABLE', correlationId: expect.any(String) } });
    expect((await held).status).toBe(200);
    await sending;
    const count = await settledCount(aggregator.url, ['BrokerOutage'], 3_000);
    const heldCount = await settledCount(aggregator.url, ['BrokerHeld'], 5, 20_000, 1_000);
    const refusedCount = await settledCount(aggregator.url, ['BrokerRefused'], 0, 10_000, 2_000);
    const { lost, duplicated } = report('broker outage (SIGSTOP/SIGCONT)', 3_000 + 5, count + heldCount, `(refused request's spans counted: ${refusedCount}, must be 0)`);
    expect({ lost, duplicated, heldCount, refusedCount }).toEqual({ lost: 0, duplicated: 0, heldCount: 5, refusedCount: 0 });
  });

  it('broker stall longer than the publish timeout: 503 whose events landed, the real exporter retries, every span counted once (dedup)', async () => {
    // Ingest gives up waiting after 1 s and answers 503, but the records it handed to the bus are
    // sent when the broker is back; the exporter's retry sends the same spans again.
    const quick = await launch('ingest', await freePort(), { ...env, INGEST_PUBLISH_TIMEOUT_MS: '1000', INGEST_RETRY_AFTER_SECONDS: '1' });
    const duplicatesBefore = await duplicatesCounted(aggregator.url);
    const responses = async (code: number): Promise<number> => Number(new RegExp(`pulsegate_ingest_responses_total\\{status="${code}"\\} (\\d+)`).exec(await (await fetch(`${quick.url}/metrics`)).text())?.[1] ?? 0);
    let sending: Promise<void> | undefined;
    try {
      await kafka.pause();
      try {
        sending = sendSpans(quick.url, 'BrokerTimeout', 500, { batch: 250, timeoutMillis: 60_000 });
        await new Promise((r) => setTimeout(r, 4_000));
      } finally {
        await kafka.resume();
      }
      await sending;
      const refused = await responses(503);
      const count = await settledCount(aggregator.url, ['BrokerTimeout'], 500);
      const absorbed = (await duplicatesCounted(aggregator.url)) - duplicatesBefore;
      const { lost, duplicated } = report('broker stall beyond the publish timeout (503, events landed)', 500, count, `(503 answers ${refused}; retried spans absorbed by dedup ${absorbed})`);
      expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
      expect(refused).toBeGreaterThan(0);
      // The 503'd requests' events did land: their retries were recognised as duplicates.
      expect(absorbed).toBeGreaterThan(0);
    } finally {
      await quick.stop();
    }
  });

  it('the same spans re-sent re-batched differently (a Collector retrying with other batches), through two ingest replicas: counted once', async () => {
    const second = await launch('ingest', await freePort(), env);
    try {
      const body = JSON.parse(otlpJson('Rebatched', 300)) as { resourceSpans: Array<{ resource: unknown; scopeSpans: Array<{ scope: unknown; spans: unknown[] }> }> };
      const rs = body.resourceSpans[0]!;
      const spans = rs.scopeSpans[0]!.spans;
      const slice = (from: number, to: number): string => JSON.stringify({ resourceSpans: [{ resource: rs.resource, scopeSpans: [{ scope: rs.scopeSpans[0]!.scope, spans: spans.slice(from, to) }] }] });
      // First as 3 requests of 100 to one replica, then as 7 requests of ≤ 45 (in another order) to the other.
      const first = await Promise.all([0, 100, 200].map((f) => postTraces(ingest.url, slice(f, f + 100))));
      const cuts = Array.from({ length: 7 }, (_, i) => 300 - (i + 1) * 45).map((f) => Math.max(0, f));
      const again = await Promise.all(cuts.map((f, i) => postTraces(second.url, slice(f, i === 0 ? 300 : cuts[i - 1]!))));
      expect([...first, ...again].every((r) => r.status === 200)).toBe(true);
      const count = await settledCount(aggregator.url, ['Rebatched'], 300);
      const { lost, duplicated } = report('same spans re-batched (300 as 3 × 100, then as 7 × ≤ 45 via another replica)', 300, count);
      expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
    } finally {
      await second.stop();
    }
  });

  it('ingest overload beyond its in-flight limit: 429 + Retry-After, bounded memory, no crash, the exporter delivers everything', async () => {
    const small = await launch('ingest', await freePort(), { ...env, INGEST_MAX_IN_FLIGHT_REQUESTS: '2', INGEST_RETRY_AFTER_SECONDS: '1' });
    const refusals = async (): Promise<number> => {
      const text = await (await fetch(`${small.url}/metrics`)).text();
      return Number(/pulsegate_ingest_responses_total\{status="429"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    try {
      // Real exporters (one request in flight each, as a running SDK sends) and, at the same
      // time, bursts of raw requests far beyond two in flight: the exporters meet the overload.
      const senders = 3;
      const per = 2_000;
      const connectors = Array.from({ length: senders }, (_, i) => `Overload${i}`);
      const body = otlpJson('OverloadRaw', 200);
      const burst = async (): Promise<Array<Awaited<ReturnType<typeof postTraces>>>> => Promise.all(Array.from({ length: 20 }, () => postTraces(small.url, body)));
      const [, raw] = await Promise.all([
        Promise.all(connectors.map((c, i) => sendSpans(small.url, c, per, { batch: 200, sequential: true, timeoutMillis: 120_000, protocol: i % 2 === 0 ? 'json' : 'proto-gzip' }))),
        (async () => [...(await burst()), ...(await new Promise((r) => setTimeout(r, 300)).then(burst))])(),
      ]);
      const refused = raw.filter((r) => r.status === 429 || r.status === 503);
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) {
        expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
        expect(r.body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String), correlationId: expect.any(String) } });
      }
      expect(raw.every((r) => r.status === 200 || r.status === 429 || r.status === 503)).toBe(true);
      const rawAccepted = raw.filter((r) => r.status === 200).length * 200;
      // Refusals the exporters met (and retried through): all 429s minus the raw ones.
      const exporterRefusals = (await refusals()) - raw.filter((r) => r.status === 429).length;
      expect(small.alive()).toBe(true);
      expect(await status(`${small.url}/healthz`)).toBe(200);
      const peakKb = small.peakRssKb()!;
      const count = await settledCount(aggregator.url, connectors, senders * per);
      const rawCount = await settledCount(aggregator.url, ['OverloadRaw'], rawAccepted, 30_000, 1_000);
      const { lost, duplicated } = report(
        'ingest overload (in-flight limit 2)',
        senders * per + rawAccepted,
        count + rawCount,
        `(raw requests refused ${refused.length}/${raw.length}; exporter requests refused and retried ${exporterRefusals}; ingest peak RSS ${(peakKb / 1024).toFixed(1)} MiB)`,
      );
      expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
      expect(exporterRefusals).toBeGreaterThan(0);
      // Bounded: far below what holding every request body would take.
      expect(peakKb).toBeLessThan(400 * 1024);
    } finally {
      await small.stop();
    }
  });
});

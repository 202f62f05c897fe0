import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBus, type Subscription } from '@pulsegate/bus';
import { Topics, encodeInvocationBatch, seriesKey, type InvocationEvent } from '@pulsegate/events';
import { freePort, integration, startKafka, startRedis, type KafkaHandle, type RedisHandle } from '@pulsegate/testkit';
import { RawClient } from '../packages/http-kit/test/raw-socket';
import { exportCalls } from './support/otel';
import { eventually } from './support/poll';
import { startService, type ServiceProcess } from './support/processes';
import { contosoCalls, reference } from './support/scenario';

// Two tenants share one distributed pipeline (ingest and aggregator as processes, the
// Kafka-protocol broker, Redis). Tenant A attacks as a hostile but authorised sender: poison labels
// (through ingest, and straight onto the topic as a producer that skips ingest's validation would),
// uploads that never finish, and a flood of label combinations. Tenant B meanwhile sends ordinary
// traffic with the real OpenTelemetry exporter and must be counted exactly and promptly.

const KEYS = [
  { key: 'nn-key-a', tenant: 'tenant-a', scopes: ['ingest', 'metrics.read'], name: 'a' },
  { key: 'nn-key-b', tenant: 'tenant-b', scopes: ['ingest', 'metrics.read'], name: 'b' },
  { key: 'nn-key-ops', tenant: 'ops', scopes: ['admin'], name: 'ops' },
];
const A = { authorization: 'Bearer nn-key-a' };
const B = { authorization: 'Bearer nn-key-b' };
const OPS = { authorization: 'Bearer nn-key-ops' };

/** Labels ingest must refuse (and the aggregator must dead-letter if they get past ingest). */
const POISON: Array<[string, string]> = [
  ['lone high surrogate', 'p\ud800x'],
  ['lone low surrogate', '\udc00tail'],
  ['reversed surrogate pair', '\udc00\ud800'],
  ['NUL', 'nul\u0000byte'],
  ['escape sequence', 'esc\u001b[31mred'],
  ['DEL', 'del\u007f'],
  ['C1 control', 'c1\u0085'],
  ['newline', 'line\nbreak'],
  ['too long', 'x'.repeat(5_000)],
];
/** Odd but well-formed labels: they must be stored and queryable like any other. */
const ODD = ['a/b%7B{x}:y', 'emoji \u{1F600} ok', 'rtl \u202e override', '__overflow__', 'quote"and\'\\', 'tab-free spaces  '];

const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0').slice(-len);
let spanSeq = 1;

/** An OTLP/JSON span (a connector action call) with the given labels, ended `agoMs` ago. */
function span(action: string, status = 200, agoMs = 5_000): Record<string, unknown> {
  const end = BigInt(Date.now() - agoMs) * 1_000_000n;
  const n = spanSeq++;
  return {
    traceId: hex(0xa11ce, 8) + hex(n, 24),
    spanId: hex(0xbad, 6) + hex(n, 10),
    name: `GET ${action.slice(0, 20)}`,
    kind: 3,
    startTimeUnixNano: String(end - 50_000_000n),
    endTimeUnixNano: String(end),
    attributes: [
      { key: 'connector.operation_id', value: { stringValue: action } },
      { key: 'http.request.method', value: { stringValue: 'GET' } },
      { key: 'http.response.status_code', value: { intValue: String(status) } },
    ],
  };
}

function resourceSpans(connector: string, version: string, spans: Array<Record<string, unknown>>): Record<string, unknown> {
  return {
    resource: { attributes: [{ key: 'connector.name', value: { stringValue: connector } }, { key: 'connector.version', value: { stringValue: version } }] },
    scopeSpans: [{ scope: { name: 'noisy' }, spans }],
  };
}

async function postJson(url: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; body: { partialSuccess?: { rejectedSpans?: number | string; errorMessage?: string } } }> {
  // JSON.stringify writes lone surrogates as \ud800 escapes: legal JSON, as an exporter may send.
  const r = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
  return { status: r.status, body: (await r.json()) as never };
}

async function metricsOf(aggregatorUrl: string, headers: Record<string, string>, connector: string): Promise<Record<string, unknown> | undefined> {
  const r = await fetch(`${aggregatorUrl}/v1/connectors/${encodeURIComponent(connector)}/metrics?window=15m`, { headers, signal: AbortSignal.timeout(10_000) });
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`aggregator answered ${r.status}: ${await r.text()}`);
  return (await r.json()) as Record<string, unknown>;
}

/** Prometheus text → samples of `name` as [labels, value]. */
function samples(text: string, name: string): Array<[string, number]> {
  return text
    .split('\n')
    .filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '))
    .map((l) => {
      const i = l.lastIndexOf(' ');
      return [l.slice(name.length, i), Number(l.slice(i + 1))] as [string, number];
    });
}

function nearestRank(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

describe.skipIf(integration(['redis', 'kafka']).skip)('noisy neighbours: one tenant cannot stop, starve or blind another', () => {
  let kafka: KafkaHandle;
  let redis: RedisHandle;
  let ingest: ServiceProcess;
  let aggregator: ServiceProcess;
  let tap: KafkaBus;
  let dlqSubscription: Subscription;
  const deadLetters: Array<{ key: string | null; headers: Record<string, string> }> = [];

  beforeAll(async () => {
    kafka = await startKafka();
    redis = await startRedis();
    const env = { KAFKA_BROKERS: kafka.brokers.join(','), REDIS_URL: redis.url, PULSEGATE_API_KEYS: JSON.stringify(KEYS) };
    [ingest, aggregator] = await Promise.all([
      startService('ingest', await freePort(), { ...env, HTTP_BODY_IDLE_TIMEOUT_MS: '4000' }),
      startService('aggregator', await freePort(), env),
    ]);
    tap = new KafkaBus({ brokers: kafka.brokers, clientId: 'noisy-tap' });
    await tap.connect();
    // The dead-letter topic must exist before the tap subscribes, or the tap may not see it for
    // minutes (until its metadata refresh): a marker record creates it.
    await tap.publish(Topics.invocationsDeadLetter, [{ key: 'noisy-marker', value: Buffer.from('marker'), headers: { 'x-dlq-topic': 'noisy-marker' } }]);
    dlqSubscription = await tap.subscribe({
      groupId: `noisy-dlq-${Date.now()}`,
      topic: Topics.invocationsDeadLetter,
      fromBeginning: true,
      decode: (r) => ({ key: r.key, headers: r.headers }),
      handle: async (batch) => {
        for (const item of batch.items) deadLetters.push(item.value);
      },
    });
  }, 180_000);

  afterAll(async () => {
    await dlqSubscription?.stop();
    await tap?.close();
    await Promise.all([ingest?.stop(), aggregator?.stop()]);
    await redis?.stop();
    await kafka?.stop();
  }, 60_000);

  it("B is counted exactly and promptly while A sends poison, slow uploads and a combination flood; A's poison is refused or dead-lettered with reasons", async () => {
    // B's first export meets a cold pipeline (topic metadata, first Redis scripts): not an attack effect.
    const warm = await exportCalls(ingest.url, 'json', contosoCalls(5, Date.now(), 99).map((c) => ({ ...c, connector: 'BSales', correlationId: `b-warm-${c.correlationId}` })), 'tenant-b', B);
    await eventually(async () => (((await metricsOf(aggregator.url, B, 'BSales'))?.calls as number | undefined) === warm.length ? true : undefined), 'B warm-up counted');

    // --- A: poison through ingest (refused per span with the reason, nothing else lost).
    const poisonSpans = POISON.map(([, label]) => resourceSpans('PoisonConn', '1.0.0', [span(label)]));
    const poisonConnectors = POISON.map(([, label]) => resourceSpans(label, '1.0.0', [span('Get')]));
    const poisonVersions = POISON.map(([, label]) => resourceSpans('PoisonConn', label, [span('Get')]));
    const goodA = resourceSpans('PoisonConn', '1.0.0', [span('Get'), span('Get')]);
    const poisoned = await postJson(ingest.url, A, { resourceSpans: [...poisonSpans, ...poisonConnectors, ...poisonVersions, goodA] });
    expect(poisoned.status).toBe(200);
    expect(Number(poisoned.body.partialSuccess?.rejectedSpans)).toBe(3 * POISON.length);
    expect(poisoned.body.partialSuccess?.errorMessage).toMatch(/surrogate/);
    expect(poisoned.body.partialSuccess?.errorMessage).toMatch(/control character/);
    expect(poisoned.body.partialSuccess?.errorMessage).toMatch(/longer than/);
    const odd = await postJson(ingest.url, A, { resourceSpans: ODD.map((label) => resourceSpans(label, '1.0.0', [span(label), span('Get')])) });
    expect(odd.status).toBe(200);
    expect(odd.body.partialSuccess?.rejectedSpans ?? 0).toBe(0);

    // --- A: poison straight onto the invocations topic (a producer that skips ingest's rules).
    const base: InvocationEvent = {
      schemaVersion: 1, tenant: 'tenant-a', connector: 'PoisonConn', connectorVersion: '1.0.0', action: 'Get', httpMethod: 'GET', kind: 'read', httpStatus: 200,
      outcome: 'success', errorCode: null, latencyMs: 12, eventTime: Date.now() - 5_000, correlationId: null, traceId: hex(1, 32), spanId: hex(1, 16), sampleWeight: 1,
    } as InvocationEvent;
    const direct = POISON.map(([, label], i) => ({ ...base, action: label, spanId: hex(1000 + i, 16) }));
    const producer = new KafkaBus({ brokers: kafka.brokers, clientId: 'noisy-producer' });
    await producer.connect();
    await producer.publish(Topics.invocations, direct.map((e) => ({ key: seriesKey(e.tenant, e.connector), value: encodeInvocationBatch([e]) })));
    await producer.close();

    // --- A: a flood of label combinations (connectors x actions x versions), a few requests at once.
    let floodStop = false;
    const floodStatuses: number[] = [];
    const flood = (async () => {
      for (let r = 0; !floodStop && r < 40; r++) {
        // Every span a new combination: 10 connectors x 20 actions x 40 versions in 8 000 spans.
        const body = {
          resourceSpans: Array.from({ length: 10 }, (_, k) => resourceSpans(`Flood${k}`, `${r}.0.0`, Array.from({ length: 20 }, (_, j) => span(`Action${j}`)))),
        };
        floodStatuses.push((await postJson(ingest.url, A, body)).status);
      }
    })();

    // --- A: uploads that never finish, trickling a byte now and then to dodge the idle timeout
    // (started while B's rounds run, stopped later; A's own flood meanwhile gets 429).
    const slow: RawClient[] = [];
    let trickle: NodeJS.Timeout | undefined;
    const startSlowUploads = async (): Promise<void> => {
      for (let i = 0; i < 24; i++) {
        const c = await RawClient.open(Number(new URL(ingest.url).port));
        c.write(`POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: ${A.authorization}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n`);
        slow.push(c);
      }
      trickle = setInterval(() => {
        for (const c of slow) c.write('1\r\n \r\n');
      }, 1_000);
    };
    let refusedSlow = 0;

    // --- B: ordinary traffic with the real exporter, in rounds; freshness per round.
    const sentB: InvocationEvent[] = [...warm];
    const freshness: number[] = [];
    for (let round = 0; round < 12; round++) {
      if (round === 4) await startSlowUploads();
      if (round === 6) {
        // A's quota is a quarter of the 64 slots: the rest of A's uploads are refused at once.
        await eventually(async () => (slow.filter((c) => c.answers()[0]?.status === 429).length >= 8 ? true : undefined), 'A refused past its quota', 30_000);
        refusedSlow = slow.filter((c) => c.answers()[0]?.status === 429).length;
      }
      if (round === 8) clearInterval(trickle);
      const calls = contosoCalls(40, Date.now(), 100 + round).map((c) => ({ ...c, connector: 'BSales', correlationId: `b-${round}-${c.correlationId}` }));
      const sent = await exportCalls(ingest.url, round % 2 === 0 ? 'json' : 'proto-gzip', calls, 'tenant-b', B);
      const accepted = Date.now();
      sentB.push(...sent);
      await eventually(async () => ((((await metricsOf(aggregator.url, B, 'BSales'))?.calls as number | undefined) ?? 0) >= sentB.length ? true : undefined), `B round ${round} counted`, 60_000, 20);
      freshness.push(Date.now() - accepted);
    }
    floodStop = true;
    await flood;
    clearInterval(trickle);
    expect(refusedSlow).toBe(8);

    // B: exact counts.
    const want = reference(sentB);
    const got = await eventually(async () => {
      const m = await metricsOf(aggregator.url, B, 'BSales');
      return m?.calls === want.calls ? m : undefined;
    }, 'B settled');
    expect(got).toMatchObject({ calls: want.calls, successes: want.successes, throttled: want.throttled, errorCodes: want.errorCodes });
    // B: fresh throughout (span accepted by ingest → visible in B's metrics).
    const sorted = [...freshness].sort((a, b) => a - b);
    process.stdout.write(`noisy neighbours: B freshness ms p50=${nearestRank(sorted, 0.5)} p99=${nearestRank(sorted, 0.99)} (rounds: ${freshness.join(' ')}); A flood answers ${JSON.stringify(floodStatuses.reduce<Record<number, number>>((m, s) => ((m[s] = (m[s] ?? 0) + 1), m), {}))}\n`);
    // The bound: B's freshness P99 under 2 s throughout A's attack (the one timing
    // assertion here; with the series-combination caps and bounded snapshot work it holds with
    // room, e.g. P99 1.06 s on a loaded 2-core machine).
    expect(freshness).toHaveLength(12);
    expect(nearestRank(sorted, 0.99)).toBeLessThan(2_000);

    // A's flood was served or pushed back, never failed.
    expect(floodStatuses.length).toBeGreaterThan(0);
    expect(floodStatuses.every((s) => s === 200 || s === 429)).toBe(true);

    // A's well-formed labels: stored and queryable, the good spans of the poisoned request too.
    expect((await metricsOf(aggregator.url, A, 'PoisonConn'))?.calls).toBe(2);
    for (const label of ODD) {
      const m = await eventually(async () => metricsOf(aggregator.url, A, label), `A's connector ${JSON.stringify(label)} queryable`);
      expect(m.calls).toBe(2);
    }
    // Tenants stay apart: B sees none of A's connectors.
    expect(await metricsOf(aggregator.url, B, 'PoisonConn')).toBeUndefined();

    // A's poison that got past ingest: dead-lettered one record at a time, with the reason.
    const dead = await eventually(async () => {
      const mine = deadLetters.filter((d) => d.headers['x-dlq-topic'] === Topics.invocations);
      return mine.length >= direct.length ? mine : undefined;
    }, 'poison dead-lettered', 60_000, 200);
    expect(dead).toHaveLength(direct.length);
    const reasons = dead.map((d) => d.headers['x-dlq-reason'] ?? '');
    expect(reasons.filter((r) => /surrogate/.test(r))).toHaveLength(3);
    expect(reasons.filter((r) => /control character/.test(r))).toHaveLength(5);
    expect(reasons.filter((r) => /longer than/.test(r))).toHaveLength(1);
    for (const d of dead) expect(d.key).toBe(seriesKey('tenant-a', 'PoisonConn'));

    // A's slow uploads: the 16 held ones are answered 408 once they stop trickling.
    const held = slow.filter((c) => c.answers()[0]?.status !== 429);
    expect(held).toHaveLength(16);
    for (const c of held) {
      const [a] = await c.waitAnswers(1, 30_000);
      expect(a?.status).toBe(408);
      expect((JSON.parse(a!.body) as { error: { code: string } }).error.code).toBe('REQUEST_TIMEOUT');
      c.close();
    }
    for (const c of slow) c.close();
  }, 420_000);

  it('afterwards /readyz and the consumer metrics say nothing is stuck: lag back to 0, no stuck batch', async () => {
    expect((await fetch(`${ingest.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${aggregator.url}/readyz`)).status).toBe(200);
    let lastLag = '';
    const text = await eventually(async () => {
      const t = await (await fetch(`${aggregator.url}/metrics`, { headers: OPS })).text();
      const lag = samples(t, 'pulsegate_consumer_lag');
      lastLag = JSON.stringify(lag);
      return lag.length > 0 && lag.every(([, v]) => v === 0) ? t : undefined;
    }, 'consumer lag back to 0', 60_000, 500).catch((err: Error) => {
      throw new Error(`${err.message}; last lag samples ${lastLag}`);
    });
    const stuck = samples(text, 'pulsegate_consumer_stuck_batches');
    expect(stuck.length).toBeGreaterThan(0);
    for (const [, v] of stuck) expect(v).toBe(0);
  }, 120_000);
});

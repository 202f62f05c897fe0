import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, integration, startAlertmanager, startKafka, startRedis, type AlertmanagerHandle, type KafkaHandle, type RedisHandle } from '@pulsegate/testkit';
import { exportCalls, type Call } from './support/otel';
import { until } from './support/poll';
import { startService, type ServiceProcess } from './support/processes';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';

const CONNECTOR = 'ContosoCrm';
const FAILING = 'SyncContacts';
const HEALTHY = 'ListContacts';
const N = 1_000;

/**
 * `count` reads of one action ending in the 20 s before now (inside the aggregator's current
 * 5-minute window for the next four minutes); every `failEvery`-th one answers 500.
 */
function reads(action: string, count: number, failEvery: number | null, seed: number): Call[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    connector: CONNECTOR,
    version: '2.1.0',
    action,
    method: 'GET',
    status: failEvery !== null && i % failEvery === 0 ? 500 : 200,
    latencyMs: 40 + ((i * 37 + seed) % 200),
    endMs: now - 1_000 - ((i * 7919 + seed) % 19_000),
  }));
}

interface AlertView {
  fingerprint: string;
  state: string;
  rule: string;
  labels: Record<string, string>;
  startsAt: string | null;
  endsAt: string | null;
  lastEvaluatedAt: string;
}
interface SloView {
  connector: string;
  action: string;
  kind: string;
  slo: string;
  events: number;
  badEvents: number;
  attainment: number | null;
  budgetRemaining: number;
  burnRates: Record<string, number | null>;
}
interface HistoryView {
  kind: 'transition' | 'notification';
  fingerprint: string;
  rule?: string;
  from?: string | null;
  to?: string;
  status?: string;
  receiver?: string;
  outcome?: string;
}
interface AmAlert {
  labels: Record<string, string>;
  startsAt: string;
  status: { state: string };
}

/**
 * The "done when": ingest, aggregator and anomaly detector run as their compiled processes
 * over the Kafka-protocol broker and one Redis; the detector pushes to a real Alertmanager and a
 * webhook receiver. Real time throughout: the spans carry their own times (the last 20 s), the
 * aggregator publishes snapshots every second, and the SLO ledger's windows (1 h, 6 h, …) hold the
 * live 5-minute window plus the blocks recorded so far, so a fresh ledger judges every window on
 * the traffic sent. 10 % failures burn the availability budget (99 %) at exactly 10×: the 6×
 * (6 h / 30 m) page fires, the 14.4× one does not.
 */
describe.skipIf(integration(['redis', 'kafka', 'alertmanager']).skip)('SLO burn-rate page end to end: OTLP spans in, Alertmanager and history out, restart in between', () => {
  let kafka: KafkaHandle;
  let redis: RedisHandle;
  let am: AlertmanagerHandle;
  let receiver: WebhookReceiver;
  let ingest: ServiceProcess;
  let aggregator: ServiceProcess;
  let detector: ServiceProcess;
  let detectorEnv: Record<string, string>;

  const startDetector = async (): Promise<ServiceProcess> => (detector = await startService('anomaly-detector', await freePort(), detectorEnv));
  const json = async <T>(url: string): Promise<T> => {
    const res = await fetch(url);
    expect(res.status, url).toBe(200);
    return (await res.json()) as T;
  };
  const alerts = async (): Promise<AlertView[]> => (await json<{ alerts: AlertView[] }>(`${detector.url}/v1/alerts?connector=${CONNECTOR}`)).alerts;
  const page = async (): Promise<AlertView | undefined> => (await alerts()).find((a) => a.rule === 'SloBurnRateHigh' && a.labels.burn === 'page' && a.labels.slo === 'availability' && a.labels.action === FAILING);
  const slo = async (action: string): Promise<SloView | undefined> =>
    (await json<{ slos: SloView[] }>(`${detector.url}/v1/slos/${CONNECTOR}`)).slos.find((s) => s.action === action && s.slo === 'availability');
  const history = async (): Promise<HistoryView[]> => (await json<{ entries: HistoryView[] }>(`${detector.url}/v1/alerts/history?connector=${CONNECTOR}`)).entries;
  const amAlerts = async (): Promise<AmAlert[]> => json<AmAlert[]>(`${am.url}/api/v2/alerts?filter=${encodeURIComponent('alertname="SloBurnRateHigh"')}`);

  /** Waits like `until`, and on time-out says what the processes logged. */
  const waitFor = async <T>(probe: () => T | undefined | Promise<T | undefined>, what: string, limitMs = 60_000): Promise<T> => {
    try {
      return await until(probe, what, limitMs, 200);
    } catch (err) {
      const logs = [ingest, aggregator, detector].filter((p) => p !== undefined).map((p) => `--- ${p.name}\n${p.output().slice(-2000)}`).join('\n');
      throw new Error(`${(err as Error).message}\n${logs}`);
    }
  };

  beforeAll(async () => {
    [kafka, redis, am, receiver] = await Promise.all([startKafka(), startRedis(), startAlertmanager(), startWebhookReceiver()]);
    const env = { KAFKA_BROKERS: kafka.brokers.join(','), REDIS_URL: redis.url };
    [ingest, aggregator] = await Promise.all([startService('ingest', await freePort(), env), startService('aggregator', await freePort(), { ...env, SNAPSHOT_INTERVAL_SECONDS: '1' })]);
    detectorEnv = {
      ...env,
      AGGREGATOR_URL: aggregator.url,
      WEBHOOK_URLS: receiver.url,
      ALERTMANAGER_URLS: am.url,
      ALERTMANAGER_PUSH_INTERVAL_SECONDS: '1',
      CONSUMER_GROUP: `slo-e2e-${Date.now()}`,
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      WEBHOOK_BACKOFF_INITIAL_MS: '50',
      WEBHOOK_BACKOFF_MAX_MS: '500',
    };
    await startDetector();
  }, 180_000);

  afterAll(async () => {
    await Promise.all([detector?.stop(), ingest?.stop(), aggregator?.stop()]);
    await receiver?.close();
    await am?.stop();
    await redis?.stop();
    await kafka?.stop();
  }, 60_000);

  it('10 % failures on one action page; the page is in /v1/slos, Alertmanager and the history, survives a restart unchanged and resolves after recovery', async () => {
    // ---- Incident: 1 000 reads of SyncContacts, every tenth a 500; ListContacts healthy. ----
    const sent = await exportCalls(ingest.url, 'proto-gzip', [...reads(FAILING, N, 10, 1), ...reads(HEALTHY, 200, null, 2)]);
    const bad = sent.filter((e) => e.action === FAILING && e.outcome !== 'success').length;
    expect(bad).toBe(N / 10);

    const firing = await waitFor(async () => {
      const a = await page();
      return a?.state === 'firing' ? a : undefined;
    }, 'availability page firing');
    expect(firing.labels).toEqual({ alertname: 'SloBurnRateHigh', tenant: 'default', connector: CONNECTOR, action: FAILING, kind: 'read', slo: 'availability', burn: 'page', severity: 'critical' });
    // The healthy action burns nothing.
    expect((await alerts()).filter((a) => a.rule === 'SloBurnRateHigh' && a.labels.action === HEALTHY)).toEqual([]);

    // GET /v1/slos: exactly the calls sent, burn rate (100 / 1 000) / (1 − 0.99) = 10 on every window.
    const s1 = await waitFor(async () => {
      const s = await slo(FAILING);
      return s?.events === N ? s : undefined;
    }, 'SLO counts of the incident');
    expect(s1).toMatchObject({ kind: 'read', events: N, badEvents: N / 10 });
    expect(s1.attainment).toBeCloseTo(0.9, 12);
    expect(s1.budgetRemaining).toBeCloseTo(1 - 0.1 / 0.01, 9);
    for (const w of ['5m', '30m', '1h', '6h']) expect(s1.burnRates[w], w).toBeCloseTo(10, 9);
    const healthy = await waitFor(async () => {
      const s = await slo(HEALTHY);
      return s?.events === 200 ? s : undefined;
    }, 'SLO counts of the healthy action');
    expect(healthy).toMatchObject({ badEvents: 0, budgetRemaining: 1 });
    expect(healthy.burnRates['1h']).toBe(0);

    // The real Alertmanager holds the page with the tenant as a label.
    const inAm = await waitFor(async () => (await amAlerts()).find((a) => a.labels.burn === 'page' && a.labels.action === FAILING), 'page in Alertmanager');
    expect(inAm.labels).toEqual(firing.labels);
    expect(inAm.status.state).toBe('active');
    // Compared as instants: Alertmanager (Go) drops trailing zeros of the fraction.
    expect(Date.parse(inAm.startsAt)).toBe(Date.parse(firing.startsAt!));

    // History: the transition to firing and the deliveries (webhook with its key, Alertmanager push).
    const fp = firing.fingerprint;
    const h1 = await waitFor(async () => {
      const h = (await history()).filter((e) => e.fingerprint === fp);
      return h.some((e) => e.receiver === 'webhook-0' && e.outcome === 'delivered') && h.some((e) => e.receiver === `alertmanager:${am.url}` && e.outcome === 'delivered') ? h : undefined;
    }, 'page deliveries in the history');
    expect(h1.filter((e) => e.kind === 'transition').map((e) => `${e.from}->${e.to}`)).toEqual(['null->firing']);
    expect(h1.filter((e) => e.kind === 'notification').map((e) => `${e.receiver}:${e.status}:${e.outcome}`).sort()).toEqual([`alertmanager:${am.url}:firing:delivered`, 'webhook-0:firing:delivered']);

    // ---- Restart: a new detector process over the same Redis and consumer group. ----
    expect(await detector.stop()).toBe(0);
    await startDetector();
    // Snapshots published from now on can only be evaluated by the new process.
    const restartedAt = Date.now();
    const after = await waitFor(async () => {
      const a = await page();
      return a !== undefined && Date.parse(a.lastEvaluatedAt) > restartedAt ? a : undefined;
    }, 'page evaluated by the new process');
    expect(after).toMatchObject({ fingerprint: fp, state: 'firing', startsAt: firing.startsAt });
    const s2 = await slo(FAILING);
    expect(s2).toMatchObject({ events: N, badEvents: N / 10 });
    expect(s2!.burnRates['1h']).toBeCloseTo(10, 9);
    expect((await history()).filter((e) => e.fingerprint === fp && e.kind === 'transition').map((e) => `${e.from}->${e.to}`)).toEqual(['null->firing']);
    expect(receiver.alerts().filter((a) => a.includes(fp))).toEqual([`SloBurnRateHigh:${fp}:firing`]);

    // ---- Recovery: 1 000 healthy reads of the same action halve the error rate: burn 5 < 6. ----
    await exportCalls(ingest.url, 'json', reads(FAILING, N, null, 3));
    const resolved = await waitFor(async () => {
      const a = await page();
      return a?.state === 'resolved' ? a : undefined;
    }, 'page resolved');
    expect(resolved.startsAt).toBe(firing.startsAt);
    const s3 = await slo(FAILING);
    expect(s3).toMatchObject({ events: 2 * N, badEvents: N / 10 });
    expect(s3!.burnRates['1h']).toBeCloseTo(5, 9);
    // Alertmanager gets the resolve (endsAt) and stops listing the page as active.
    await waitFor(async () => ((await amAlerts()).some((a) => a.labels.burn === 'page' && a.labels.action === FAILING) ? undefined : true), 'page gone from Alertmanager');
    const h3 = await waitFor(async () => {
      const h = (await history()).filter((e) => e.fingerprint === fp);
      return h.some((e) => e.receiver === 'webhook-0' && e.status === 'resolved') && h.some((e) => e.receiver === `alertmanager:${am.url}` && e.status === 'resolved') ? h : undefined;
    }, 'resolve deliveries in the history');
    expect(h3.filter((e) => e.kind === 'transition').map((e) => `${e.from}->${e.to}`)).toEqual(['null->firing', 'firing->resolved']);
    await waitFor(() => (receiver.alerts().filter((a) => a.includes(fp)).length === 2 ? true : undefined), 'resolved webhook');
    expect(receiver.alerts().filter((a) => a.includes(fp))).toEqual([`SloBurnRateHigh:${fp}:firing`, `SloBurnRateHigh:${fp}:resolved`]);
  }, 240_000);

  it('all three processes stop cleanly on SIGTERM', async () => {
    for (const p of [detector, ingest, aggregator]) expect(await p.stop(), p.output().slice(-2000)).toBe(0);
  }, 60_000);
});

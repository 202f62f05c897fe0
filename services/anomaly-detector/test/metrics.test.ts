import { afterEach, describe, expect, it } from 'vitest';
import request from 'supertest';
import { Topics } from '@pulsegate/events';
import { OpenApiChecker } from '@pulsegate/testkit';
import { parsePrometheusText, sampleValue, type ParsedSample } from '@pulsegate/telemetry';
import { startReceiver, until, type Receiver } from './fixtures/receiver';
import { startService, type Harness } from './fixtures/service';
import { seriesSnapshot } from './fixtures/snapshots';
import { blockSnapshot } from './fixtures/slo';

const doc = new OpenApiChecker(new URL('../openapi.yaml', import.meta.url).pathname);
const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);
const S = 1000;

async function scrape(h: Harness, key?: string): Promise<{ status: number; samples: ParsedSample[]; body: unknown }> {
  let req = request(h.service.app).get('/metrics');
  if (key !== undefined) req = req.set('x-api-key', key);
  const res = await req;
  expect(doc.check('get', '/metrics', res.status, res.body)).toEqual([]);
  if (res.status === 200) expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return { status: res.status, samples: res.status === 200 ? parsePrometheusText(res.text) : [], body: res.body };
}

describe('GET /metrics (anomaly detector)', () => {
  const receivers: Receiver[] = [];
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.stop();
    h = null;
    for (const r of receivers.splice(0)) await r.close();
  });

  it('reports the exact totals of the traffic sent', async () => {
    const up = await startReceiver();
    const down = await startReceiver();
    receivers.push(up, down);
    down.down = true;
    // Two receivers: webhook-0 accepts, webhook-1 answers 503 until the 2nd attempt dead-letters.
    h = await startService({ receiverUrl: `${up.url},${down.url}`, env: { WEBHOOK_MAX_ATTEMPTS: '2' } });
    const bad = (at: number, action = 'getContact') => seriesSnapshot(at, { calls: 200, successes: 150, action });
    // getContact breaches for the rule's `for` (2 min) -> firing; listContacts breaches once -> pending.
    await h.publish(bad(T0), bad(T0 + 120 * S), bad(T0 + 120 * S, 'listContacts'));
    await h.bus.publish(Topics.metrics, [
      { key: 'x', value: 'not json {' },
      { key: 'x', value: JSON.stringify({ type: 'series' }) },
    ]);
    const v = (s: ParsedSample[], name: string, labels?: Record<string, string>) => sampleValue(s, name, labels);
    await until(async () => {
      const { samples } = await scrape(h!);
      return v(samples, 'pulsegate_anomaly_notifications_sent_total', { receiver: 'webhook-0' }) === 1 && v(samples, 'pulsegate_anomaly_notifications_dead_lettered_total', { receiver: 'webhook-1' }) === 1;
    }, 'one delivery and one dead letter');
    await until(() => h!.bus.recordsIn(Topics.deadLetter).length === 2, 'two poison records');

    const { samples } = await scrape(h);
    expect(v(samples, 'pulsegate_anomaly_alerts', { rule: 'SuccessRateLow', state: 'firing' })).toBe(1);
    expect(v(samples, 'pulsegate_anomaly_alerts', { rule: 'SuccessRateLow', state: 'pending' })).toBe(1);
    expect(samples.filter((s) => s.name === 'pulsegate_anomaly_alerts').reduce((a, s) => a + s.value, 0)).toBe(2);
    expect(v(samples, 'pulsegate_anomaly_notifications_sent_total', { receiver: 'webhook-0' })).toBe(1);
    expect(v(samples, 'pulsegate_anomaly_notifications_sent_total', { receiver: 'webhook-1' })).toBeUndefined();
    expect(v(samples, 'pulsegate_anomaly_notifications_failed_total', { receiver: 'webhook-1' })).toBe(2);
    expect(v(samples, 'pulsegate_anomaly_notifications_failed_total', { receiver: 'webhook-0' })).toBeUndefined();
    expect(down.requests).toBe(2);
    expect(v(samples, 'pulsegate_anomaly_notifications_dead_lettered_total', { receiver: 'webhook-1' })).toBe(1);
    expect(v(samples, 'pulsegate_anomaly_snapshots_consumed_total', { type: 'series' })).toBe(3);
    expect(v(samples, 'pulsegate_anomaly_snapshots_rejected_total')).toBe(2);
    expect(v(samples, 'pulsegate_anomaly_ready')).toBe(1);
    expect(v(samples, 'pulsegate_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('needs an admin key when keys are configured', async () => {
    const up = await startReceiver();
    receivers.push(up);
    const keys = JSON.stringify([
      { key: 'reader', tenant: 't', scopes: ['alerts.read'] },
      { key: 'ops', tenant: 't', scopes: ['admin'] },
    ]);
    h = await startService({ receiverUrl: up.url, env: { PULSEGATE_API_KEYS: keys } });
    expect((await scrape(h)).status).toBe(401);
    const forbidden = await scrape(h, 'reader');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const ok = await scrape(h, 'ops');
    expect(ok.status).toBe(200);
    expect(sampleValue(ok.samples, 'pulsegate_anomaly_snapshots_rejected_total')).toBe(0);
    expect(ok.samples.filter((s) => s.name === 'pulsegate_anomaly_alerts')).toEqual([]);
  });

  it('exports SLO gauges with the figures of GET /v1/slos', async () => {
    const up = await startReceiver();
    receivers.push(up);
    h = await startService({ receiverUrl: up.url, deps: { clock: () => T0 + 599 * S } });
    // Two 5-minute blocks: 1 000 calls with 5 failures, then 1 000 clean.
    await h.publish(blockSnapshot(T0, { calls: 1000, failed: 5 }), blockSnapshot(T0 + 300 * S, { calls: 1000, slow: 40 }));
    await until(async () => (await h!.service.slo.status('acme'))[0]?.events === 2000, 'two blocks recorded');
    const { samples } = await scrape(h);
    const l = { tenant: 'acme', connector: 'crm', action: 'getContact', kind: 'read' };
    expect(sampleValue(samples, 'pulsegate_slo_objective_ratio', { ...l, slo: 'availability' })).toBe(0.99);
    expect(sampleValue(samples, 'pulsegate_slo_events', { ...l, slo: 'availability' })).toBe(2000);
    expect(sampleValue(samples, 'pulsegate_slo_attainment_ratio', { ...l, slo: 'availability' })).toBeCloseTo(1 - 5 / 2000, 12);
    expect(sampleValue(samples, 'pulsegate_slo_error_budget_remaining_ratio', { ...l, slo: 'availability' })).toBeCloseTo(1 - 5 / 20, 12);
    expect(sampleValue(samples, 'pulsegate_slo_error_budget_remaining_ratio', { ...l, slo: 'latency' })).toBeCloseTo(1 - 40 / 100, 12);
    // The 5 m window is the last block (clean for availability, 40 slow of 1 000 for latency: 0.04 / 0.05).
    expect(sampleValue(samples, 'pulsegate_slo_burn_rate', { ...l, slo: 'availability', window: '5m' })).toBe(0);
    expect(sampleValue(samples, 'pulsegate_slo_burn_rate', { ...l, slo: 'latency', window: '5m' })).toBeCloseTo(0.8, 12);
    expect(sampleValue(samples, 'pulsegate_slo_burn_rate', { ...l, slo: 'latency', window: '1h' })).toBeCloseTo(40 / 2000 / 0.05, 12);
  });
});

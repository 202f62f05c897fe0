import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integration, startAlertmanager, type AlertmanagerHandle } from '@pulsegate/testkit';
import { startService, type Harness } from '../fixtures/service';
import { seriesSnapshot } from '../fixtures/snapshots';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  status: { state: string };
}

/** Polls until `probe` gives a value (generous limit: the machine may be loaded). */
async function until<T>(probe: () => Promise<T | undefined>, what: string, limitMs = 30_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(integration(['alertmanager']).skip)('Alertmanager target (real prometheus-alertmanager)', () => {
  let am: AlertmanagerHandle;
  let h: Harness;
  beforeAll(async () => {
    am = await startAlertmanager();
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    await am?.stop();
  });

  const amAlerts = async (): Promise<AmAlert[]> => {
    const res = await fetch(`${am.url}/api/v2/alerts?filter=${encodeURIComponent('alertname="SuccessRateLow"')}`);
    expect(res.status).toBe(200);
    return (await res.json()) as AmAlert[];
  };

  it('pushes a firing alert with labels, annotations, startsAt and generatorURL, re-sends it and resolves it', async () => {
    h = await startService({ receiverUrl: '', env: { ALERTMANAGER_URLS: am.url, ALERTMANAGER_PUSH_INTERVAL_SECONDS: '1', AGGREGATOR_URL: 'http://aggregator.example:8081' } });
    const now = Date.now();
    const start = Math.floor((now - 10 * 60_000) / 1000) * 1000;
    // Breach for the rule's `for` (2 min) ten minutes ago: firing since `start`.
    await h.publish(seriesSnapshot(start, { calls: 200, successes: 150 }), seriesSnapshot(start + 120_000, { calls: 200, successes: 150 }));
    const firing = await until(async () => (await amAlerts()).find((a) => a.status.state === 'active'), 'alert active in Alertmanager');
    expect(firing.labels).toMatchObject({ alertname: 'SuccessRateLow', tenant: 'acme', connector: 'crm', action: 'getContact', version: '1.2.0', kind: 'read', severity: 'critical' });
    expect(firing.annotations).toMatchObject({ summary: 'success rate below target', value: '0.75', threshold: '0.99', window: '5m' });
    expect(Date.parse(firing.startsAt)).toBe(start);
    expect(firing.generatorURL).toMatch(/^http:\/\/aggregator\.example:8081\/v1\/connectors\/crm\/timeseries\?/);
    // Firing alerts carry endsAt four push intervals ahead and are re-sent: endsAt moves on.
    const firstEnds = Date.parse(firing.endsAt);
    expect(firstEnds).toBeGreaterThan(now);
    await until(async () => ((await amAlerts()).some((a) => Date.parse(a.endsAt) > firstEnds) ? true : undefined), 're-sent with a later endsAt');

    // Healthy after keep_firing_for (5 min): resolved one minute ago; Alertmanager drops it from the active list.
    const resolvedAt = Math.floor((Date.now() - 60_000) / 1000) * 1000;
    await h.publish(seriesSnapshot(resolvedAt, { calls: 200, successes: 200 }));
    await until(async () => ((await h.service.store.listAlerts('acme'))[0]?.state === 'resolved' ? true : undefined), 'resolved in the detector');
    await until(async () => ((await amAlerts()).every((a) => a.status.state !== 'active') ? true : undefined), 'alert no longer active in Alertmanager');
    const pushed = await h.service.alertmanager.alerts();
    expect(pushed).toHaveLength(1);
    expect(Date.parse(pushed[0]!.endsAt)).toBe(resolvedAt);
    expect(h.service.alertmanager.counts.sent[am.url]).toBeGreaterThanOrEqual(2);
    // History: one entry per outcome change (not one per re-send), receiver alertmanager:<url>, no key.
    const attempts = (await h.service.history.query('acme', { from: 0, to: Number.MAX_SAFE_INTEGER, limit: 100 })).filter((e) => e.kind === 'notification');
    expect(attempts.map((e) => (e.kind === 'notification' ? [e.receiver, e.status, e.outcome, e.idempotencyKey] : []))).toEqual([
      [`alertmanager:${am.url}`, 'firing', 'delivered', null],
      [`alertmanager:${am.url}`, 'resolved', 'delivered', null],
    ]);
  }, 60_000);
});

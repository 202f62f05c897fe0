import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@pulsegate/logging';
import { startEmbedded, type Embedded } from '../apps/pulsegate/src/embedded';
import { exportCalls } from './support/otel';
import { contosoCalls } from './support/scenario';

const promtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
if (!promtool && process.env.CI === 'true') throw new Error('promtool is missing (Debian: apt-get install -y prometheus)');
if (!promtool) console.warn('skipping the promtool checks: install promtool (Debian: apt-get install -y prometheus)');

/** Runs `promtool check metrics` on a scrape; returns its complaints (empty when it passes). */
function check(text: string): string {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}`.trim() || `promtool exited ${r.status}`;
}

describe.skipIf(!promtool)('every /metrics passes promtool check metrics, with traffic', () => {
  let embedded: Embedded;

  beforeAll(async () => {
    embedded = await startEmbedded({ env: {}, ephemeralPorts: true, logger: createLogger({ name: 'promtool', level: 'silent' }) });
    const aggregator = embedded.services.find((s) => s.name === 'aggregator')!.url;
    const sent = await exportCalls(embedded.services.find((s) => s.name === 'ingest')!.url, 'json', contosoCalls(300, Date.now()));
    // Wait until the aggregator counted them, so its KPI gauges have samples.
    for (let i = 0; i < 100; i++) {
      const body = (await (await fetch(`${aggregator}/v1/connectors/ContosoSales/metrics?window=5m`)).json()) as { calls?: number };
      if (body.calls === sent.filter((e) => e.eventTime >= Date.now() - 5 * 60_000).length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 60_000);
  afterAll(async () => {
    await embedded?.stop();
  });

  it('ingest, aggregator, anomaly-detector, risk-scorer and the dashboard', async () => {
    const names = embedded.services.map((s) => s.name).sort();
    expect(names).toEqual(['aggregator', 'anomaly-detector', 'dashboard', 'ingest', 'risk-scorer']);
    for (const s of embedded.services) {
      const res = await fetch(`${s.url}/metrics`);
      expect(res.status, s.name).toBe(200);
      const text = await res.text();
      expect(check(text), `${s.name}: promtool check metrics`).toBe('');
      if (s.name === 'aggregator') {
        for (const name of ['pulsegate_connector_calls', 'pulsegate_connector_latency_p95_seconds', 'pulsegate_connector_version_share_ratio', 'pulsegate_connector_error_calls']) {
          expect(text, name).toMatch(new RegExp(`^${name}\\{`, 'm'));
        }
      }
    }
  });

  it('promtool does reject a malformed scrape (the check is live)', () => {
    expect(check('# TYPE pulsegate_bad_total gauge\npulsegate_bad_total 1\n')).toMatch(/_total/);
  });
});

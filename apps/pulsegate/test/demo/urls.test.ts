import { describe, expect, it } from 'vitest';
import { freePort } from '@pulsegate/testkit';
import { demoTargets, runDemo } from '../../src/demo';

describe('pulsegate demo: where it sends', () => {
  it('defaults to the embedded start on this machine', () => {
    const t = demoTargets({});
    expect([t.ingest.url, t.aggregator.url, t.risk.url, t.dashboard.url]).toEqual(['http://127.0.0.1:4318', 'http://127.0.0.1:8081', 'http://127.0.0.1:8083', 'http://127.0.0.1:8080']);
    expect(t.risk.from).toBe('PULSEGATE_RISK_URL or PULSEGATE_RISK_SCORER_PORT');
  });

  it('follows the embedded start\'s PULSEGATE_<SERVICE>_PORT, and PULSEGATE_<X>_URL over it', () => {
    const t = demoTargets({ PULSEGATE_INGEST_PORT: '14318', PULSEGATE_AGGREGATOR_PORT: '18081', PULSEGATE_RISK_SCORER_PORT: '18083', PULSEGATE_DASHBOARD_PORT: '18080', PULSEGATE_RISK_URL: 'http://risk.internal:9000' });
    expect([t.ingest.url, t.aggregator.url, t.risk.url, t.dashboard.url]).toEqual(['http://127.0.0.1:14318', 'http://127.0.0.1:18081', 'http://risk.internal:9000', 'http://127.0.0.1:18080']);
    expect(t.risk.from).toBe('PULSEGATE_RISK_URL');
  });

  it('bad values name the variable', () => {
    expect(() => demoTargets({ PULSEGATE_AGGREGATOR_PORT: '80a' })).toThrow('PULSEGATE_AGGREGATOR_PORT must be an integer 0-65535, got "80a"');
    expect(() => demoTargets({ PULSEGATE_INGEST_URL: '127.0.0.1:4318' })).toThrow('PULSEGATE_INGEST_URL must start with http:// or https://');
  });

  it('nothing listening: the problem names the URL that failed', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const summary = await runDemo({ ingestUrl: base, aggregatorUrl: base, riskUrl: base, durationSeconds: 0, backfillMinutes: 0 });
    expect(summary.problems).toEqual([`demo stopped: cannot reach ${base}/v1/catalog/connectors/ContosoSales: ECONNREFUSED`]);
  });
});

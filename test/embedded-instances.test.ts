import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@pulsegate/logging';
import { generateHistory } from '@pulsegate/risk-scorer';
import { freePort } from '@pulsegate/testkit';
import { startEmbedded, type Embedded } from '../apps/pulsegate/src/embedded';
import { exportCalls, type Call } from './support/otel';
import { until } from './support/poll';

const logger = createLogger({ name: 'embedded-instances', level: 'silent' });
const running: Embedded[] = [];
const start = async (env: Record<string, string>, ephemeralPorts = false): Promise<Embedded> => {
  const e = await startEmbedded({ env, ephemeralPorts, logger });
  running.push(e);
  return e;
};
const urlOf = (e: Embedded, name: string): string => e.services.find((s) => s.name === name)!.url;

afterEach(async () => {
  for (const e of running.splice(0)) await e.stop();
});

describe('embedded start: state per instance, configured ports everywhere', () => {
  it('two instances do not see each other\'s risk model (no shared model directory)', async () => {
    const a = await start({}, true);
    const b = await start({}, true);
    const { records } = generateHistory({ records: 300, seed: 7 });
    const trained = await fetch(`${urlOf(a, 'risk-scorer')}/v1/risk/model:train`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records, seed: 7 }) });
    expect(trained.status).toBe(201);
    const models = async (e: Embedded): Promise<unknown[]> => ((await (await fetch(`${urlOf(e, 'risk-scorer')}/v1/risk/models`)).json()) as { models: unknown[] }).models;
    expect(await models(a)).toHaveLength(1);
    expect(await models(b)).toEqual([]);
    // A third instance, started after A trained, starts without a model too.
    expect(await models(await start({}, true))).toEqual([]);
  });

  it('with custom ports every alert\'s generatorURL points at the aggregator this start runs', async () => {
    const ports = { INGEST: await freePort(), AGGREGATOR: await freePort(), ANOMALY_DETECTOR: await freePort(), RISK_SCORER: await freePort(), DASHBOARD: await freePort() };
    const env: Record<string, string> = { SNAPSHOT_INTERVAL_SECONDS: '1' };
    for (const [k, v] of Object.entries(ports)) env[`PULSEGATE_${k}_PORT`] = String(v);
    const e = await start(env);
    expect(urlOf(e, 'aggregator')).toBe(`http://127.0.0.1:${ports.AGGREGATOR}`);
    const now = Date.now();
    // 100 reads in the last minute, every fifth throttled: ThrottleRateHigh (no `for`) fires at the next snapshot.
    const calls: Call[] = Array.from({ length: 100 }, (_, i) => ({ connector: 'ContosoSales', version: '1.2.0', action: 'ListInvoices', method: 'GET', status: i % 5 === 0 ? 429 : 200, latencyMs: 80, endMs: now - 30_000 + i * 100 }));
    await exportCalls(urlOf(e, 'ingest'), 'json', calls);
    const alerts = await until(async () => {
      const body = (await (await fetch(`${urlOf(e, 'anomaly-detector')}/v1/alerts`)).json()) as { alerts: Array<{ rule: string; generatorURL: string }> };
      return body.alerts.some((a) => a.rule === 'ThrottleRateHigh') ? body.alerts : undefined;
    }, 'a ThrottleRateHigh alert');
    for (const a of alerts) expect(a.generatorURL, a.rule).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${ports.AGGREGATOR}/v1/connectors/ContosoSales/`));
    const link = alerts.find((a) => a.rule === 'ThrottleRateHigh')!.generatorURL;
    expect((await fetch(link)).status).toBe(200);
  });

  it('AGGREGATOR_URL still names another address for the links (a proxy, a public name)', async () => {
    const e = await start({ AGGREGATOR_URL: 'https://pulsegate.example.com/aggregator', SNAPSHOT_INTERVAL_SECONDS: '1' }, true);
    const now = Date.now();
    const calls: Call[] = Array.from({ length: 60 }, (_, i) => ({ connector: 'ContosoSales', version: '1.2.0', action: 'ListInvoices', method: 'GET', status: i % 4 === 0 ? 429 : 200, latencyMs: 80, endMs: now - 30_000 + i * 100 }));
    await exportCalls(urlOf(e, 'ingest'), 'json', calls);
    const alert = await until(async () => {
      const body = (await (await fetch(`${urlOf(e, 'anomaly-detector')}/v1/alerts`)).json()) as { alerts: Array<{ rule: string; generatorURL: string }> };
      return body.alerts.find((a) => a.rule === 'ThrottleRateHigh');
    }, 'a ThrottleRateHigh alert');
    expect(alert.generatorURL).toMatch(/^https:\/\/pulsegate\.example\.com\/aggregator\/v1\/connectors\/ContosoSales\//);
  });

  it('a taken port names the PULSEGATE_<SERVICE>_PORT variable that moves it', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      await expect(startEmbedded({ env: { PULSEGATE_AGGREGATOR_PORT: String(port), PULSEGATE_RISK_SCORER_PORT: String(await freePort()) }, logger })).rejects.toThrow(
        `aggregator: port ${port} on 127.0.0.1 is already in use: set PULSEGATE_AGGREGATOR_PORT to a free port`,
      );
      await expect(startEmbedded({ env: { PULSEGATE_INGEST_PORT: 'http' }, logger })).rejects.toThrow('PULSEGATE_INGEST_PORT must be an integer 0-65535, got "http"');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

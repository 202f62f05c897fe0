import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '@pulsegate/bus';
import { createLogger } from '@pulsegate/logging';
import { integration, startPrometheus, type PrometheusHandle } from '@pulsegate/testkit';
import { createIngestService, loadConfig as ingestConfig, type IngestService } from '@pulsegate/ingest';
import { createAggregatorService, loadConfig as aggregatorConfig, type AggregatorService } from '@pulsegate/aggregator';
import { createAnomalyDetectorService, loadConfig as detectorConfig, type AnomalyDetectorService } from '@pulsegate/anomaly-detector';
import { exportCalls, type Call } from './support/otel';
import { until } from './support/poll';

// Fake clock in the last minute of a 5-minute block: the aggregator's 5-minute window is then the
// block, so the detector's SLO ledger records it.
const BLOCK = Date.UTC(2025, 0, 6, 12, 0, 0);
const NOW = BLOCK + 4 * 60_000 + 30_000;
const clock = (): number => NOW;
const CONNECTOR = 'PromConn';

/** 200 reads in the block: every 20th fails with a 500 (10 failures). */
const calls: Call[] = Array.from({ length: 200 }, (_, i) => ({ connector: CONNECTOR, version: '1.0.0', action: 'GetThing', method: 'GET', status: i % 20 === 0 ? 500 : 200, latencyMs: 50 + (i % 50), endMs: BLOCK + 60_000 + i * 1000 }));

const listen = async (app: { listen: (port: number, host: string, cb: () => void) => Server }): Promise<{ server: Server; hostPort: string }> => {
  let server!: Server;
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', resolve);
  });
  return { server, hostPort: `127.0.0.1:${(server.address() as AddressInfo).port}` };
};

describe.skipIf(integration(['prometheus']).skip)('Prometheus scrapes Pulsegate (real prometheus binary)', () => {
  const logger = createLogger({ name: 'prometheus-e2e', level: 'silent' });
  const bus = new MemoryBus();
  let ingest: IngestService;
  let aggregator: AggregatorService;
  let detector: AnomalyDetectorService;
  let prom: PrometheusHandle;
  const servers: Server[] = [];
  let ingestUrl = '';

  beforeAll(async () => {
    ingest = await createIngestService({ bus, logger, config: ingestConfig({}) });
    await ingest.start();
    aggregator = await createAggregatorService({ bus, logger, config: aggregatorConfig({ SNAPSHOT_INTERVAL_SECONDS: '1' }), clock });
    await aggregator.start();
    detector = await createAnomalyDetectorService({ bus, logger, config: detectorConfig({ SLO_ALERTS: 'false' }), clock });
    await detector.start();
    const [i, a, d] = [await listen(ingest.app), await listen(aggregator.app), await listen(detector.app)];
    servers.push(i.server, a.server, d.server);
    ingestUrl = `http://${i.hostPort}`;
    prom = await startPrometheus([a.hostPort, d.hostPort]);
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await detector?.stop();
    await aggregator?.stop();
    await ingest?.stop();
    await bus.close();
  }, 30_000);

  const query = async (promql: string): Promise<number | undefined> => {
    const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; data: { result: Array<{ value: [number, string] }> } };
    expect(body.status).toBe('success');
    return body.data.result.length === 1 ? Number(body.data.result[0]!.value[1]) : undefined;
  };

  it('serves a connector KPI and an SLO series with the values of the traffic sent', async () => {
    expect(await exportCalls(ingestUrl, 'json', calls)).toHaveLength(200);
    const calls5m = await until(async () => {
      const v = await query(`pulsegate_connector_calls{connector="${CONNECTOR}",action="GetThing"}`);
      return v === 200 ? v : undefined;
    }, 'KPI scraped by Prometheus');
    expect(calls5m).toBe(200);
    const remaining = await until(async () => query(`pulsegate_slo_error_budget_remaining_ratio{connector="${CONNECTOR}",slo="availability"}`), 'SLO series scraped by Prometheus');
    // 10 failures of 200 at a 1 % budget: 1 − 10 / 2 = −4 (the budget is overspent four times).
    expect(remaining).toBeCloseTo(1 - 10 / (0.01 * 200), 9);
    expect(await query(`pulsegate_slo_burn_rate{connector="${CONNECTOR}",slo="availability",window="5m"}`)).toBeCloseTo(10 / 200 / 0.01, 9);
  }, 90_000);
});

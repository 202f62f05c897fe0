import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import { MemoryBus } from '@pulsegate/bus';
import { createLogger } from '@pulsegate/logging';
import { createAggregatorService, loadConfig as aggregatorConfig } from '@pulsegate/aggregator';
import { createAnomalyDetectorService, loadConfig as detectorConfig } from '@pulsegate/anomaly-detector';
import { createIngestService, loadConfig as ingestConfig } from '@pulsegate/ingest';
import { createRiskScorerService, loadConfig as riskConfig } from '@pulsegate/risk-scorer';

/** The four services by the name of their folder under services/. */
export const SERVICE_NAMES = ['ingest', 'aggregator', 'anomaly-detector', 'risk-scorer'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface RunningStack {
  urls: Record<ServiceName, string>;
  /** Every log line every service wrote (level trace), raw. */
  logs: string[];
  stop(): Promise<void>;
}

interface Started {
  app: Express;
  start(): Promise<void>;
  stop(): Promise<void>;
}

async function listen(app: Express): Promise<{ server: Server; url: string }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * Runs the four services in this process through their factories (as the embedded launcher does),
 * on one in-memory bus and memory stores, each on its own loopback port, logging at trace level
 * into `logs`.
 */
export async function startStack(env: Record<string, string>): Promise<RunningStack> {
  const logs: string[] = [];
  const logger = (name: string) => createLogger({ name, level: 'trace', destination: { write: (s: string) => void logs.push(s) } });
  const modelDir = mkdtempSync(join(tmpdir(), 'pulsegate-security-'));
  const full = { ...env, RISK_MODEL_DIR: modelDir, SNAPSHOT_INTERVAL_SECONDS: '1' };
  const bus = new MemoryBus();
  const services: Record<ServiceName, Started> = {
    ingest: await createIngestService({ bus, logger: logger('ingest'), config: ingestConfig(full) }),
    aggregator: await createAggregatorService({ bus, logger: logger('aggregator'), config: aggregatorConfig(full) }),
    'anomaly-detector': await createAnomalyDetectorService({ bus, logger: logger('anomaly-detector'), config: detectorConfig(full), deliveryPollMs: 100 }),
    'risk-scorer': await createRiskScorerService({ bus, logger: logger('risk-scorer'), config: riskConfig(full) }),
  };
  const servers: Server[] = [];
  const urls = {} as Record<ServiceName, string>;
  for (const name of SERVICE_NAMES) {
    await services[name].start();
    const { server, url } = await listen(services[name].app);
    servers.push(server);
    urls[name] = url;
  }
  let stopped = false;
  return {
    urls,
    logs,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      for (const name of [...SERVICE_NAMES].reverse()) await services[name].stop();
      await bus.close();
      rmSync(modelDir, { recursive: true, force: true });
    },
  };
}

import type { Express } from 'express';
import { createBus, type Bus } from '@pulsegate/bus';
import { createLogger, type Logger } from '@pulsegate/logging';
import { createIngestService, loadConfig as loadIngestConfig } from '@pulsegate/ingest';
import { createAggregatorService, loadConfig as loadAggregatorConfig } from '@pulsegate/aggregator';
import { createAnomalyDetectorService, loadConfig as loadDetectorConfig } from '@pulsegate/anomaly-detector';
import { createRiskScorerService, loadConfig as loadRiskConfig } from '@pulsegate/risk-scorer';
import { createDashboardApp } from './dashboard';
import { hashKey, listen, type Listening, type ServerLimits } from '@pulsegate/http-kit';
import { loadRunnerConfig, startFailureMessage } from '@pulsegate/service-runner';
import { embeddedPort, portVariable, type EmbeddedName } from './ports';

/** What the launcher needs of a service; every service factory returns at least this. */
interface Runnable {
  app: Express;
  start(): Promise<void>;
  stop(): Promise<void>;
  isReady(): boolean;
}

export interface EmbeddedService {
  name: string;
  url: string;
  service: Runnable;
}

export interface Embedded {
  bus: Bus;
  services: EmbeddedService[];
  /** Ordered, idempotent: stop accepting spans, drain consumers, close the bus. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Environment to read settings from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Listen on port 0 (any free port) instead of the configured ports; for tests. */
  ephemeralPorts?: boolean;
  logger?: Logger;
  /**
   * Key of tenant `default` (every scope) that the aggregator, anomaly detector and risk scorer
   * require when `env` has no PULSEGATE_API_KEYS: it is what a user signs in to the dashboard with.
   * Ingest keeps taking spans for tenant `default` without a key (loopback only, as before).
   * `pulsegate start` passes PULSEGATE_API_KEY or a random key. Default: none, every API open.
   */
  tenantKey?: string;
}

/**
 * Runs every service in this process, sharing one bus: the in-memory bus unless KAFKA_BROKERS is
 * set, and the in-memory stores unless REDIS_URL / REDIS_CLUSTER_NODES are set. Same code path as
 * the distributed mode: each service is built by the factory its own main.ts uses.
 */
export async function startEmbedded(options: EmbeddedOptions = {}): Promise<Embedded> {
  const env = options.env ?? process.env;
  // JSON log lines go to stderr so the start-up banner on stdout stays readable (and parseable).
  const logger = options.logger ?? createLogger({ name: 'pulsegate', servicePerChild: true, destination: process.stderr });
  const { autoCreateTopics } = loadRunnerConfig(env);
  const bus = createBus({ KAFKA_BROKERS: env.KAFKA_BROKERS, clientId: 'pulsegate-embedded' }, { logger, kafka: { autoCreateTopics } });
  // Each service reads its own PORT; the shared env must not pin them all to one port.
  const envFor = (port: number): NodeJS.ProcessEnv => ({ ...env, PORT: String(options.ephemeralPorts === true ? 0 : port) });
  const portOf = (name: EmbeddedName): number => embeddedPort(env, name);

  // A taken port names the variable that moves it (PULSEGATE_<SERVICE>_PORT), not the services' own PORT.
  const listenAs = async (name: EmbeddedName, app: Express, host: string, port: number, listenOptions: Parameters<typeof listen>[3]): Promise<Listening> => {
    try {
      return await listen(app, host, port, listenOptions);
    } catch (err) {
      throw new Error(`${name}: ${startFailureMessage(err, { host, port }, portVariable(name))}`, { cause: err });
    }
  };
  // The read APIs get the tenant key (as its hash) unless keys are configured explicitly.
  const keyed = options.tenantKey !== undefined && (env.PULSEGATE_API_KEYS === undefined || env.PULSEGATE_API_KEYS.trim() === '');
  const readEnvFor = (port: number): NodeJS.ProcessEnv =>
    keyed ? { ...envFor(port), PULSEGATE_API_KEYS: JSON.stringify([{ sha256: hashKey(options.tenantKey!), tenant: 'default', name: 'embedded-tenant-key' }]) } : envFor(port);

  if (env.PULSEGATE_DASHBOARD_API_KEY !== undefined && env.PULSEGATE_DASHBOARD_API_KEY !== '') {
    throw new Error('PULSEGATE_DASHBOARD_API_KEY is no longer supported: the dashboard holds no key, each user signs in with their own (pulsegate start prints the tenant key)');
  }
  const started: Array<EmbeddedService & { listening: Listening }> = [];
  const stopAll = async (): Promise<void> => {
    // Reverse start order: ingest (started last) stops accepting first, then consumers drain.
    for (const s of [...started].reverse()) {
      await s.listening.close();
      await s.service.stop();
    }
    await bus.close();
  };

  try {
    const risk = loadRiskConfig(readEnvFor(portOf('risk-scorer')));
    const aggregator = loadAggregatorConfig(readEnvFor(portOf('aggregator')));
    const detector = loadDetectorConfig(readEnvFor(portOf('anomaly-detector')));
    const ingest = loadIngestConfig(envFor(portOf('ingest')));
    const url = (name: string): string => started.find((s) => s.name === name)!.url;
    // Alert links (generatorURL) point at the aggregator this start runs, wherever its port is,
    // unless AGGREGATOR_URL names another address (a proxy, a public host name).
    const alertLinkBase = (): string => (env.AGGREGATOR_URL !== undefined && env.AGGREGATOR_URL !== '' ? detector.aggregatorUrl : url('aggregator'));
    const plan: Array<{ name: EmbeddedName; host: string; port: number; make: () => Promise<Runnable>; limits: ServerLimits }> = [
      { name: 'aggregator', host: aggregator.host, port: aggregator.port, limits: aggregator.http, make: () => createAggregatorService({ bus, logger: logger.child({ service: 'aggregator' }), config: aggregator }) },
      // After the aggregator: the gate reads live canary telemetry from it (its URL is known once it listens).
      { name: 'risk-scorer', host: risk.host, port: risk.port, limits: risk.http, make: () => createRiskScorerService({ bus, logger: logger.child({ service: 'risk-scorer' }), config: { ...risk, aggregatorUrl: risk.aggregatorUrl ?? url('aggregator') } }) },
      { name: 'anomaly-detector', host: detector.host, port: detector.port, limits: detector.http, make: () => createAnomalyDetectorService({ bus, logger: logger.child({ service: 'anomaly-detector' }), config: { ...detector, aggregatorUrl: alertLinkBase() } }) },
      { name: 'ingest', host: ingest.host, port: ingest.port, limits: ingest.http, make: () => createIngestService({ bus, logger: logger.child({ service: 'ingest' }), config: ingest }) },
    ];
    for (const step of plan) {
      const service = await step.make();
      await service.start();
      const listening = await listenAs(step.name, service.app, step.host, step.port, { limits: step.limits, logger });
      started.push({ name: step.name, url: listening.url, service, listening });
    }
    // The dashboard holds no key: each user signs in with their own (loopback by default, like
    // every other listener here).
    const dashboardApp = createDashboardApp({
      aggregatorUrl: url('aggregator'),
      detectorUrl: url('anomaly-detector'),
      riskUrl: url('risk-scorer'),
      logger: logger.child({ service: 'dashboard' }),
    });
    const dashboard = await listenAs('dashboard', dashboardApp, env.HOST ?? '127.0.0.1', options.ephemeralPorts === true ? 0 : portOf('dashboard'), {});
    started.push({ name: 'dashboard', url: dashboard.url, listening: dashboard, service: { app: dashboardApp, start: async () => undefined, stop: async () => undefined, isReady: () => true } });
  } catch (err) {
    await stopAll();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    bus,
    services: started.map(({ name, url, service }) => ({ name, url, service })),
    stop: () => (stopping ??= stopAll()),
  };
}

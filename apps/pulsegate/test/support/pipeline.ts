import { createLogger } from '@pulsegate/logging';
import { createDashboardApp } from '../../src/dashboard';
import { startEmbedded, type Embedded } from '../../src/embedded';
import { listen, type Listening } from '@pulsegate/http-kit';

/** The embedded pipeline on free ports plus the dashboard in front of it. */
export interface Pipeline {
  embedded: Embedded;
  dashboard: Listening;
  url(service: 'ingest' | 'aggregator' | 'anomaly-detector' | 'risk-scorer'): string;
  stop(): Promise<void>;
}

/**
 * `tenantKey` protects the read APIs as `pulsegate start` does (see startEmbedded); with
 * PULSEGATE_API_KEYS in `env` those keys apply instead. The dashboard holds no key: pages sign in.
 */
export async function startPipeline(env: Record<string, string> = {}, options: { tenantKey?: string } = {}): Promise<Pipeline> {
  const logger = createLogger({ name: 'pulsegate-test', level: 'silent' });
  const embedded = await startEmbedded({ env, ephemeralPorts: true, logger, tenantKey: options.tenantKey });
  const url = (name: string): string => {
    const s = embedded.services.find((x) => x.name === name);
    if (s === undefined) throw new Error(`no service ${name}`);
    return s.url;
  };
  let dashboard: Listening;
  try {
    dashboard = await listen(createDashboardApp({ aggregatorUrl: url('aggregator'), detectorUrl: url('anomaly-detector'), riskUrl: url('risk-scorer'), logger }), '127.0.0.1', 0);
  } catch (err) {
    await embedded.stop();
    throw err;
  }
  return {
    embedded,
    dashboard,
    url,
    stop: async () => {
      await dashboard.close();
      await embedded.stop();
    },
  };
}

/** Polls `probe` until it returns a value (not undefined); bounded by attempts, never by a clock assertion. */
export async function eventually<T>(probe: () => Promise<T | undefined>, attempts = 200, delayMs = 250): Promise<T> {
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error(`condition not met after ${attempts} attempts${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
}

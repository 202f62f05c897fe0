import type { Express } from 'express';
import type { Bus } from '@pulsegate/bus';
import type { Logger } from '@pulsegate/logging';
import { createApp } from './app';
import { assertExposureAllowed, type IngestConfig } from './config';
import { createCounters, type IngestCounters } from './counters';
import { InFlight } from './in-flight';

export interface IngestServiceDeps {
  bus: Bus;
  logger: Logger;
  config: IngestConfig;
}

/** The ingest service as the launcher runs it; `counters` are live totals. */
export interface IngestService {
  app: Express;
  counters: IngestCounters;
  start(): Promise<void>;
  /** Stops accepting (503), then waits up to `drainMs` (default 10 000 ms) for in-flight requests. Idempotent. */
  stop(drainMs?: number): Promise<void>;
  isReady(): boolean;
}

/** Builds the ingest service. Ingest has no consumers or timers: start() only opens the door. */
export async function createIngestService(deps: IngestServiceDeps): Promise<IngestService> {
  assertExposureAllowed(deps.config);
  const counters = createCounters();
  const inFlight = new InFlight(deps.config.maxInFlightRequests, deps.config.maxInFlightBytes, { requests: deps.config.maxInFlightRequestsPerTenant, bytes: deps.config.maxInFlightBytesPerTenant });
  let state: 'created' | 'running' | 'stopped' = 'created';
  let stopping: Promise<void> | undefined;
  const isReady = (): boolean => state === 'running' && deps.bus.isReady();
  const app = createApp({ ...deps, counters, isReady, inFlight });
  return {
    app,
    counters,
    isReady,
    start: async () => {
      if (state === 'created') state = 'running';
    },
    stop: (drainMs = 10_000) => {
      stopping ??= (async () => {
        state = 'stopped';
        const deadline = Date.now() + drainMs;
        while (inFlight.requests > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        if (inFlight.requests > 0) deps.logger.warn({ requests: inFlight.requests }, 'stopped with requests still in flight');
      })();
      return stopping;
    },
  };
}

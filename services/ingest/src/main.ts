import { telemetry } from './self-telemetry';
import { createBus } from '@pulsegate/bus';
import { serveUntilSignal } from '@pulsegate/http-kit';
import { createLogger } from '@pulsegate/logging';
import { loadConfig } from './config';
import { createIngestService } from './service';

// Starts ingest on its own: config, bus, service, listen, then an ordered, idempotent shutdown on
// SIGINT/SIGTERM (stop accepting, drain in-flight requests, close the bus).
const logger = createLogger({ name: 'ingest' });
let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  logger.fatal((err as Error).message);
  process.exit(2);
}
const bus = createBus({ KAFKA_BROKERS: config.kafkaBrokers.join(','), clientId: 'pulsegate-ingest' }, { logger });
const service = await createIngestService({ bus, logger, config });
await serveUntilSignal({
  name: 'ingest',
  logger,
  app: service.app,
  host: config.host,
  port: config.port,
  limits: config.http,
  start: () => service.start(),
  details: { bus: bus.kind },
  // Stop accepting and finish open requests first, then drain, close the bus, and telemetry last
  // so the spans of the shutdown itself are exported.
  shutdown: [() => service.stop(), () => bus.close(), () => telemetry.shutdown()],
});

import { telemetry } from './self-telemetry';
import { createBus } from '@pulsegate/bus';
import { serveUntilSignal } from '@pulsegate/http-kit';
import { createLogger } from '@pulsegate/logging';
import { loadConfig } from './config';
import { createAggregatorService } from './service';

// Starts the aggregator on its own: config, bus, service (window store), listen, then an ordered,
// idempotent shutdown on SIGINT/SIGTERM: stop accepting, stop consuming (the batch in flight is
// applied and committed), stop snapshots, close the store, close the bus.
const logger = createLogger({ name: 'aggregator' });
let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  logger.fatal((err as Error).message);
  process.exit(2);
}
const bus = createBus(
  { KAFKA_BROKERS: config.kafkaBrokers.join(','), clientId: 'pulsegate-aggregator' },
  {
    logger,
    kafka: {
      consumer: {
        sessionTimeoutMs: config.kafkaSessionTimeoutMs,
        heartbeatIntervalMs: Math.floor(config.kafkaSessionTimeoutMs / 3),
        maxBytesPerPartition: config.fetchMaxBytesPerPartition,
        maxWaitTimeMs: config.fetchMaxWaitMs,
      },
      // The weight limit (AGGREGATOR_MAX_BATCH_EVENTS) cuts handler batches, not the record count.
      maxBatchRecords: 100_000,
    },
  },
);
const service = await createAggregatorService({ bus, logger, config });
await serveUntilSignal({
  name: 'aggregator',
  logger,
  app: service.app,
  host: config.host,
  port: config.port,
    limits: config.http,
  start: () => service.start(),
  details: { bus: bus.kind, store: service.store.kind },
  // Consumers finish and commit their batch in flight before the store and the bus close;
  // telemetry last so the spans of the shutdown itself are exported.
  shutdown: [() => service.stop(), () => bus.close(), () => telemetry.shutdown()],
});

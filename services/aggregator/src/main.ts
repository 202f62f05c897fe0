import { telemetry } from './self-telemetry';
import type { AddressInfo } from 'node:net';
import { createBus } from '@pulsegate/bus';
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
const server = service.app.listen(config.port, config.host);
await new Promise<void>((resolve, reject) => {
  server.once('listening', resolve);
  server.once('error', reject);
});
await service.start();
const { address, port } = server.address() as AddressInfo;
logger.info({ bus: bus.kind, store: service.store.kind }, `aggregator listening on http://${address.includes(':') ? `[${address}]` : address}:${port}/v1/connectors`);

let shutdown: Promise<void> | undefined;
function stop(signal: string): Promise<void> {
  shutdown ??= (async () => {
    logger.info({ signal }, 'shutting down');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await service.stop();
    server.closeAllConnections();
    await closed;
    await bus.close();
    logger.info('stopped');
    // Last, so the spans of the shutdown itself are exported.
    await telemetry.shutdown();
  })();
  return shutdown;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

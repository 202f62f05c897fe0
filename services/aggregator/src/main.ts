// Starts the aggregator on its own (see @pulsegate/service-runner for the order). Nothing imports this file.
import { runService } from '@pulsegate/service-runner';
import { loadConfig } from './config';

await runService({
  name: 'aggregator',
  loadConfig,
  busOptions: (config) => ({
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
  }),
  async create({ config, logger, bus }) {
    // Loaded after self-telemetry has started (see runService).
    const { createAggregatorService } = await import('./service');
    // stop(): consumers apply and commit their batch in flight, snapshots stop, the store closes.
    const service = await createAggregatorService({ bus, logger, config });
    return { app: service.app, start: () => service.start(), stop: () => service.stop(), details: { store: service.store.kind } };
  },
});

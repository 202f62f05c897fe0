// Starts the anomaly detector on its own (see @pulsegate/service-runner for the order). Nothing imports this file.
import { runService } from '@pulsegate/service-runner';
import { loadConfig } from './config';

await runService({
  name: 'anomaly-detector',
  loadConfig,
  busOptions: (config) => ({
    kafka: { consumer: { sessionTimeoutMs: config.kafkaSessionTimeoutMs, heartbeatIntervalMs: Math.floor(config.kafkaSessionTimeoutMs / 3) } },
  }),
  async create({ config, logger, bus }) {
    // Loaded after self-telemetry has started (see runService).
    const { createAnomalyDetectorService } = await import('./service');
    // stop(): the consumer commits its batch and webhook delivery drains.
    return createAnomalyDetectorService({ bus, logger, config });
  },
});

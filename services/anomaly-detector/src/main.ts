// Starts the anomaly detector as its own process: config, dependencies, listen, ordered shutdown.
import { telemetry } from './self-telemetry';
import { createBus } from '@pulsegate/bus';
import { serveUntilSignal } from '@pulsegate/http-kit';
import { createLogger } from '@pulsegate/logging';
import { loadConfig } from './config';
import { createAnomalyDetectorService } from './service';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ name: 'anomaly-detector', level: config.logLevel });
  // KAFKA_BROKERS set: KafkaBus; unset: the in-process memory bus.
  const bus = createBus(
    { KAFKA_BROKERS: config.kafkaBrokers.join(','), clientId: 'pulsegate-anomaly-detector' },
    { logger, kafka: { consumer: { sessionTimeoutMs: config.kafkaSessionTimeoutMs, heartbeatIntervalMs: Math.floor(config.kafkaSessionTimeoutMs / 3) } } },
  );
  const service = await createAnomalyDetectorService({ bus, logger, config });
  await service.start();
  await serveUntilSignal({
    name: 'anomaly-detector',
    logger,
    app: service.app,
    host: config.host,
    port: config.port,
    limits: config.http,
    // Stop accepting, drain the consumer and delivery, then the bus; telemetry last.
    shutdown: [() => service.stop(), () => bus.close(), () => telemetry.shutdown()],
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});

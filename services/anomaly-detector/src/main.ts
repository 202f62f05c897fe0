// Starts the anomaly detector as its own process: config, dependencies, listen, ordered shutdown.
import { telemetry } from './self-telemetry';
import { createBus } from '@pulsegate/bus';
import { createLogger } from '@pulsegate/logging';
import { loadConfig } from './config';
import { createAnomalyDetectorService } from './service';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ name: 'anomaly-detector', level: config.logLevel });
  // KAFKA_BROKERS set: KafkaBus; unset: the in-process memory bus.
  const bus = createBus({ KAFKA_BROKERS: config.kafkaBrokers.join(','), clientId: 'pulsegate-anomaly-detector' }, { logger });
  const service = await createAnomalyDetectorService({ bus, logger, config });
  await service.start();
  const server = service.app.listen(config.port, config.host, () => logger.info({ host: config.host, port: config.port }, 'listening'));
  let closing: Promise<void> | null = null;
  const shutdown = (signal: string): Promise<void> =>
    (closing ??= (async () => {
      logger.info({ signal }, 'shutting down');
      // Stop accepting requests, then drain the consumer and delivery, then the bus.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await service.stop();
      await bus.close();
      // Last, so the spans of the shutdown itself are exported.
      await telemetry.shutdown();
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      shutdown(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});

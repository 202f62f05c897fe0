// Starts the risk scorer as its own process (distributed mode). Nothing imports this file.
import { telemetry } from './self-telemetry';
import { createBus } from '@pulsegate/bus';
import { createLogger } from '@pulsegate/logging';
import { listen as listenOn } from '@pulsegate/http-kit';
import { loadConfig } from './config';
import { createRiskScorerService } from './service';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ name: 'risk-scorer', level: config.logLevel });
  const bus = createBus({ KAFKA_BROKERS: config.kafkaBrokers.join(','), clientId: 'risk-scorer' }, { logger });
  const service = await createRiskScorerService({ bus, logger, config });
  await service.start();
  const server = await listenOn(service.app, config.host, config.port);
  logger.info({ url: server.url }, 'risk scorer listening');

  let shutdown: Promise<void> | undefined;
  const stop = (signal: string): Promise<void> =>
    (shutdown ??= (async () => {
      logger.info({ signal }, 'shutting down');
      // Stop accepting requests, then consumers (they commit), then the bus.
      await server.close();
      await service.stop();
      await bus.close();
      // Last, so the spans of the shutdown itself are exported.
      await telemetry.shutdown();
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop(signal).then(
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
  process.stderr.write(`risk-scorer failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

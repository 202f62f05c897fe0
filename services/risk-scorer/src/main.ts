// Starts the risk scorer as its own process (distributed mode). Nothing imports this file.
import { telemetry } from './self-telemetry';
import { createBus } from '@pulsegate/bus';
import { createLogger } from '@pulsegate/logging';
import { serveUntilSignal } from '@pulsegate/http-kit';
import { loadConfig } from './config';
import { createRiskScorerService } from './service';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ name: 'risk-scorer', level: config.logLevel });
  const bus = createBus({ KAFKA_BROKERS: config.kafkaBrokers.join(','), clientId: 'risk-scorer' }, { logger });
  const service = await createRiskScorerService({ bus, logger, config });
  await service.start();
  await serveUntilSignal({
    name: 'risk-scorer',
    logger,
    app: service.app,
    host: config.host,
    port: config.port,
    limits: config.http,
    // Stop accepting, then consumers (they commit), then the bus; telemetry last.
    shutdown: [() => service.stop(), () => bus.close(), () => telemetry.shutdown()],
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`risk-scorer failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

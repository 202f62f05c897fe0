// Starts the risk scorer on its own (see @pulsegate/service-runner for the order). Nothing imports this file.
import { runService } from '@pulsegate/service-runner';
import { loadConfig } from './config';

await runService({
  name: 'risk-scorer',
  loadConfig,
  async create({ config, logger, bus }) {
    // Loaded after self-telemetry has started (see runService).
    const { createRiskScorerService } = await import('./service');
    // stop(): consumers commit their batch, the stores close.
    return createRiskScorerService({ bus, logger, config });
  },
});

// Starts ingest on its own (see @pulsegate/service-runner for the order). Nothing imports this file.
import { runService } from '@pulsegate/service-runner';
import { loadConfig } from './config';

await runService({
  name: 'ingest',
  loadConfig,
  async create({ config, logger, bus }) {
    // Loaded after self-telemetry has started (see runService).
    const { createIngestService } = await import('./service');
    // stop(): requests still publishing finish; the server has answered every other one by then.
    return createIngestService({ bus, logger, config });
  },
});

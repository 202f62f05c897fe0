// Starts the dashboard as its own service (distributed mode): `node apps/pulsegate/dist/dashboard.js`.
import { runService } from '@pulsegate/service-runner';
import { createDashboardApp } from './app';
import { loadDashboardConfig } from './config';

await runService({
  name: 'dashboard',
  loadConfig: loadDashboardConfig,
  async create({ config, logger }) {
    const app = createDashboardApp({ aggregatorUrl: config.aggregatorUrl, detectorUrl: config.detectorUrl, riskUrl: config.riskUrl, logger });
    // Stateless: nothing to start or drain beyond the server's open requests.
    return { app, start: async () => undefined, stop: async () => undefined, details: { aggregator: config.aggregatorUrl, detector: config.detectorUrl, risk: config.riskUrl } };
  },
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '@pulsegate/bus';
import { KeyRing, parseApiKeys } from '@pulsegate/http-kit';
import { createLogger } from '@pulsegate/logging';
import { createApp, FileModelStore, MemoryRiskStore } from '@pulsegate/risk-scorer';

/** API keys of the risk scorer under test: two tenants and a read-only key. */
export const KEYS = [
  { key: 'key-a', tenant: 'tenant-a', name: 'ci-a' },
  { key: 'key-b', tenant: 'tenant-b', name: 'ci-b' },
  { key: 'key-a-read', tenant: 'tenant-a', name: 'reader-a', scopes: ['risk.read', 'catalog.read'] },
];

/** The seed connector's catalog entry. */
export const CONNECTOR = { owner: 'finance-solutions@contoso.com', classification: 'Confidential', authMethod: 'OAuth2', scopes: ['invoices.read', 'invoices.write'] };

/** The seed's ContosoSales example specs shipped with the risk scorer. */
export const EXAMPLES = join(__dirname, '..', '..', '..', '..', 'services', 'risk-scorer', 'examples');

/** A real risk scorer app on memory state and a temporary model directory. */
export function makeRiskApp(options: { keys?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pulsegate-risk-'));
  const bus = new MemoryBus();
  const store = new MemoryRiskStore();
  const app = createApp({
    store,
    models: new FileModelStore(dir),
    bus,
    logger: createLogger({ name: 'risk-scorer', level: 'silent' }),
    keys: new KeyRing(options.keys === true ? parseApiKeys(JSON.stringify(KEYS)) : []),
    cutoffs: { medium: 0.3, high: 0.7 },
    trainSteps: 100,
    isReady: () => true,
  });
  return { app, bus, store, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

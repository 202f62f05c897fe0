// Risk scorer benchmark: training time for 10 000 and 100 000 generated releases, and assessments
// per second (in-process scoring and over HTTP on loopback). Prints figures; asserts nothing.
// Run: npx tsx services/risk-scorer/bench/risk.ts [--quick]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '@pulsegate/bus';
import { KeyRing } from '@pulsegate/http-kit';
import { createLogger } from '@pulsegate/logging';
import { createApp } from '../src/app';
import { score } from '../src/assess/levels';
import { listen as listenOn } from '@pulsegate/http-kit';
import { generateHistory } from '../src/model/generator';
import { trainModel } from '../src/model/logistic';
import { auc } from '../src/model/metrics';
import { FileModelStore } from '../src/model/store';
import { MemoryRiskStore } from '../src/store/memory-store';

const quick = process.argv.includes('--quick');
const sizes = quick ? [10_000] : [10_000, 100_000];
const heldOut = generateHistory({ records: 20_000, seed: 999 });
const labels = heldOut.records.map((r) => (r.incident ? 1 : 0));
const trueAuc = auc(heldOut.trueProbabilities, labels)!;

console.log(`node ${process.version}, ${process.arch}; training = ml-logistic-regression, 100 steps, 10 features`);
let model = trainModel(generateHistory({ records: 1000, seed: 1 }).records);
for (const n of sizes) {
  const { records } = generateHistory({ records: n, seed: n });
  const t0 = performance.now();
  model = trainModel(records);
  const ms = performance.now() - t0;
  const p = heldOut.records.map((r) => score(model, r.features).probability!);
  console.log(
    `train ${n.toLocaleString('en')} records: ${(ms / 1000).toFixed(2)} s (${Math.round((n / ms) * 1000).toLocaleString('en')} records/s); ` +
      `held-out AUC ${model.metrics.auc?.toFixed(4)}, independent AUC ${auc(p, labels)!.toFixed(4)} vs generating model ${trueAuc.toFixed(4)}, Brier ${model.metrics.brier.toFixed(4)}`,
  );
}

// In-process scoring.
{
  const rows = heldOut.records.map((r) => r.features);
  const rounds = 10;
  const t0 = performance.now();
  let sink = 0;
  for (let k = 0; k < rounds; k++) for (const f of rows) sink += score(model, f).probability!;
  const ms = performance.now() - t0;
  console.log(`score in-process: ${Math.round(((rows.length * rounds) / ms) * 1000).toLocaleString('en')} assessments/s (checksum ${sink.toFixed(1)})`);
}

// Over HTTP: POST /v1/risk/assessments with all features, memory store and bus, loopback only.
{
  const dir = mkdtempSync(join(tmpdir(), 'risk-bench-'));
  const models = new FileModelStore(dir);
  const store = new MemoryRiskStore();
  const bus = new MemoryBus({ retainRecords: 1000 });
  await models.save('default', model);
  await store.putConnector('default', { connector: 'ContosoSales', owner: 'o', classification: 'Public', authMethod: 'OAuth2', scopes: [], versions: [], updatedAt: 0 });
  // Audit lines go to a sink so the console figure measures the service, not the terminal.
  const logger = createLogger({ name: 'risk-bench', level: 'info', destination: { write: () => undefined } });
  const app = createApp({ store, models, bus, logger, keys: new KeyRing([]), cutoffs: { medium: 0.3, high: 0.7 }, trainSteps: 100, isReady: () => true });
  const server = await listenOn(app, '127.0.0.1', 0);
  const total = quick ? 2000 : 10_000;
  const concurrency = 16;
  let next = 0;
  let failures = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const res = await fetch(`${server.url}/v1/risk/assessments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ connector: 'ContosoSales', version: `1.0.${i}`, features: heldOut.records[i % heldOut.records.length]!.features }),
      });
      if (res.status !== 201) failures++;
      await res.arrayBuffer();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - t0;
  console.log(`HTTP assessments: ${total} requests, concurrency ${concurrency}: ${Math.round((total / ms) * 1000).toLocaleString('en')} assessments/s, ${failures} failures`);
  await server.close();
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
}

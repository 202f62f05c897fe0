// `npm run bench [name…]`: runs the benchmarks one after another, each in its own process so one's
// memory and JIT state do not colour the next. Figures are printed by each benchmark; nothing here
// is part of the test suite.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');

/** Name → script, relative to the repository root. */
const BENCHMARKS: Record<string, string> = {
  ingest: 'services/ingest/bench/ingest.ts',
  aggregator: 'services/aggregator/bench/aggregator.ts',
  risk: 'services/risk-scorer/bench/risk.ts',
  anomaly: 'services/anomaly-detector/bench/anomaly-eval.ts',
  startup: 'bench/startup.ts',
  freshness: 'bench/freshness.ts',
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in BENCHMARKS));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s) ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}\n`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHMARKS)) {
  process.stdout.write(`\n=== ${name} (${BENCHMARKS[name]}) ===\n`);
  const run = spawnSync(process.execPath, [tsxCli, join(root, BENCHMARKS[name]!)], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);

// Lint cost benchmark: one lint run (Spectral with the standard oas ruleset and the Pulsegate
// connector ruleset) next to the connector checks alone, on the seed example, a large valid spec and
// the hostile reference fan-out spec. Prints figures (median of the runs, ratios within this run);
// asserts nothing.
// Run: npx tsx services/risk-scorer/bench/lint.ts [--runs N]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkConnector } from '../src/spec/checks';
import { lintSpec } from '../src/spec/lint';
import { loadSpec } from '../src/spec/load';
import { Budget } from '../src/spec/resolve';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg === -1 ? 15 : Number(process.argv[runsArg + 1]);

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const seed = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'examples', 'contoso-sales-2.0.0.json'), 'utf8')) as Doc;

/** The seed spec with 50 actions and 1 000 extra schemas (a big but valid connector). */
function large(): Doc {
  const d = structuredClone(seed);
  for (let i = 0; i < 48; i++) d.paths[`/things${i}`] = { get: { ...structuredClone(seed.paths['/invoices'].get), operationId: `Thing${i}` } };
  for (let i = 0; i < 1_000; i++) d.components.schemas[`Extra${i}`] = { type: 'object', description: `extra ${i}`, properties: { id: { type: 'string' }, n: { type: 'integer', minimum: 0 } } };
  return d;
}

/** 200 schemas, each naming the next 50 times (cyclic): inlining would never end. */
function fanOut(): Doc {
  const schemas: Doc = {};
  for (let i = 0; i < 200; i++) {
    const properties: Doc = { id: { type: 'string' } };
    for (let k = 0; k < 50; k++) properties[`p${k}`] = { $ref: `#/components/schemas/S${(i + 1) % 200}` };
    schemas[`S${i}`] = { type: 'object', properties };
  }
  const op = { operationId: 'X', responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/S0' } } } } } };
  return { openapi: '3.1.0', info: { title: 'hostile', version: '1.0.0' }, paths: { '/x': { get: op } }, components: { schemas } };
}

async function median(fn: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

console.log(`lint cost, median of ${runs} runs (after one warm-up run each), node ${process.version}`);
for (const [name, doc] of [
  ['seed example (2 actions)', seed],
  ['large valid spec (50 actions, 1 003 schemas)', large()],
  ['hostile fan-out (200 schemas x 50 refs, cyclic)', fanOut()],
] as const) {
  const text = JSON.stringify(doc);
  await lintSpec(text);
  const full = await median(() => lintSpec(text));
  const checks = await median(() => checkConnector(loadSpec(text, 'spec'), new Budget('spec')));
  const findings = (await lintSpec(text)).findings.length;
  console.log(`  ${name.padEnd(50)} ${String(text.length).padStart(8)} chars  lint ${full.toFixed(1).padStart(7)} ms  connector checks alone ${checks.toFixed(1).padStart(6)} ms  (x${(full / checks).toFixed(1)})  ${findings} finding(s)`);
}
const rss = process.memoryUsage().rss / 2 ** 20;
console.log(`  process RSS after the runs: ${rss.toFixed(0)} MiB`);

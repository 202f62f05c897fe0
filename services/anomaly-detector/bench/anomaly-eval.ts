// Prints precision / recall of the statistical rules on the generated, labelled data set.
// Usage: npx tsx services/anomaly-detector/bench/anomaly-eval.ts [seed] [series] [days]
import { generateDataset } from '../src/eval/dataset';
import { evaluate } from '../src/eval/evaluate';

const seed = Number(process.argv[2] ?? 42);
const series = Number(process.argv[3] ?? 12);
const days = Number(process.argv[4] ?? 21);
const started = performance.now();
const dataset = generateDataset({ seed, series, days });
const { report } = evaluate(dataset);
const ms = performance.now() - started;
const pct = (x: number): string => (100 * x).toFixed(1) + ' %';
console.log(`anomaly evaluation: seed ${seed}, ${series} series x ${days} days x 3 metrics, 5-minute buckets`);
console.log(`  injected anomalies   ${report.anomalies}`);
console.log(`  recall               ${pct(report.recall)} (${report.detected}/${report.anomalies})`);
for (const [kind, r] of Object.entries(report.recallByKind)) console.log(`    ${kind.padEnd(18)} ${r.detected}/${r.total}`);
console.log(`  precision            ${pct(report.precision)} (${report.truePositives}/${report.episodes} firing episodes)`);
console.log(`  false alerts         ${report.falseAlerts} over ${report.seriesWeeks.toFixed(1)} series-weeks = ${report.falseAlertsPerSeriesWeek.toFixed(3)} per series-week`);
console.log(`  median time to fire  ${report.medianDelayMinutes} min after anomaly start`);
console.log(`  run time             ${ms.toFixed(0)} ms`);

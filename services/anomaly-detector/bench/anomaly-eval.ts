// Prints recall, precision, false alerts per series-week and detection delay of the statistical
// rules per volume class and per anomaly kind on the generated, labelled data set, for each seed.
// Usage: npx tsx services/anomaly-detector/bench/anomaly-eval.ts [seeds, comma list] [series] [days]
import { ANOMALY_KINDS, generateDataset, VOLUME_CLASSES } from '../src/eval/dataset';
import { evaluate, type ClassFigures, type RecallFigures } from '../src/eval/evaluate';

const seeds = (process.argv[2] ?? '42,1,7,2024,99').split(',').map(Number);
const series = Number(process.argv[3] ?? 12);
const days = Number(process.argv[4] ?? 21);
const pct = (x: number): string => (100 * x).toFixed(1).padStart(5) + ' %';
const min = (x: number | null): string => (x === null ? '   –' : String(x).padStart(4));
const recall = (r: RecallFigures): string =>
  `${pct(r.recall)} (${String(r.detected).padStart(2)}/${String(r.total).padStart(2)})  clear ${pct(r.clearRecall)} (${String(r.clearDetected).padStart(2)}/${String(r.clear).padStart(2)})  delay median ${min(r.medianDelayMinutes)} / p90 ${min(r.p90DelayMinutes)} min`;
const row = (name: string, c: ClassFigures): string =>
  `  ${name.padEnd(8)} recall ${recall(c)}  precision ${pct(c.precision)} (${c.truePositives}/${c.episodes})  false/series-week ${(c.falseAlerts / c.seriesWeeks).toFixed(3)} (${c.falseAlerts} over ${c.seriesWeeks.toFixed(1)})`;

for (const seed of seeds) {
  // CPU time as well as wall time: on a shared machine the wall time mostly measures the neighbours.
  const cpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const [t0, c0] = [performance.now(), cpu()];
  const dataset = generateDataset({ seed, series, days });
  const [t1, c1] = [performance.now(), cpu()];
  const { report } = evaluate(dataset);
  const [t2, c2] = [performance.now(), cpu()];
  console.log(
    `seed ${seed}: ${series} series x ${days} days x 3 metrics, 5-minute buckets; generate ${(t1 - t0).toFixed(0)} ms wall / ${(c1 - c0).toFixed(0)} ms cpu, evaluate ${(t2 - t1).toFixed(0)} ms wall / ${(c2 - c1).toFixed(0)} ms cpu`,
  );
  for (const c of VOLUME_CLASSES) console.log(row(c, report.byClass[c]));
  console.log(row('all', report.overall));
  for (const k of ANOMALY_KINDS) console.log(`  ${k.padEnd(8)} recall ${recall(report.byKind[k])}`);
  const r = report.releases;
  console.log(`  releases detected ${r.detected}, resolved afterwards ${r.resolved}, median firing ${r.medianFiringHours === null ? '–' : r.medianFiringHours.toFixed(1)} h`);
}

// Prints time to page and false pages of the SLO burn-rate alerts on a generated data set.
// Usage: npx tsx services/anomaly-detector/bench/slo-burn-eval.ts [seed] [days]
import { BURN_EVAL_DEFAULTS, evaluateBurnAlerts } from '../src/slo/burn-eval';

const seed = Number(process.argv[2] ?? 7);
const days = Number(process.argv[3] ?? 30);
const started = performance.now();
const r = await evaluateBurnAlerts({ seed, days });
const median = (xs: number[]): string => {
  if (xs.length === 0) return 'n/a';
  const s = [...xs].sort((a, b) => a - b);
  return String(s[Math.floor((s.length - 1) / 2)]);
};
console.log(`SLO burn-rate evaluation: seed ${seed}, availability 99 %, workbook page set (14.4x 1h/5m, 6x 6h/30m)`);
console.log(`  normal series        ${BURN_EVAL_DEFAULTS.levels.length} (mean calls per 5 min: ${BURN_EVAL_DEFAULTS.levels.join(', ')}) x ${days} days`);
console.log(`  false pages          ${r.falsePages} over ${r.seriesMonths.toFixed(1)} series-months = ${r.falsePagesPerSeriesMonth.toFixed(3)} per series-month`);
for (const [name, x] of Object.entries(r.incidents)) {
  console.log(`  ${name.padEnd(24)} paged ${x.paged}/${x.total}; minutes to page: median ${median(x.minutes)}, all [${x.minutes.join(', ')}]`);
}
console.log(`  run time             ${(performance.now() - started).toFixed(0)} ms`);

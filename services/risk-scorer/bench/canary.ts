// Canary judge benchmark on generated traffic with known effects: detection power for a 20 % P95
// regression at 2 000 calls per side, the false-fail rate when nothing changed, and how often it
// says inconclusive below the call floor. Prints figures; asserts nothing.
// Run: npx tsx services/risk-scorer/bench/canary.ts [--seeds N]
import { generateTraffic, type TrafficShape } from '../src/canary/traffic';
import { DEFAULT_CANARY_OPTIONS, judgeCanary, type Verdict } from '../src/canary/verdict';

const seedsArg = process.argv.indexOf('--seeds');
const seeds = seedsArg === -1 ? 500 : Number(process.argv[seedsArg + 1]);

function share(base: TrafficShape, cand: TrafficShape, verdict: Verdict, metric?: string): number {
  let hits = 0;
  for (let s = 1; s <= seeds; s++) {
    const v = judgeCanary({ A: generateTraffic(base, 2 * s) }, { A: generateTraffic(cand, 2 * s + 1) });
    const got = metric === undefined ? v.verdict : v.actions[0]!.metrics.find((m) => m.metric === metric)!.verdict;
    if (got === verdict) hits++;
  }
  return hits / seeds;
}

const o = DEFAULT_CANARY_OPTIONS;
console.log(`canary judge, ${seeds} seeds per row; alpha ${o.alpha}, floor ${o.minCalls} calls, min P95 increase ${o.minP95Increase * 100} %, min rate increase ${o.minRateIncrease * 100} points`);
console.log('traffic: lognormal latency (median 200 ms, sigma 0.5), errors 0.2 %, throttles 0.1 % unless stated');
const rows: Array<[string, TrafficShape, TrafficShape, Verdict, string | undefined]> = [
  ['20 % slower (P95 +20 %), 2 000 calls/side: fail', { calls: 2000 }, { calls: 2000, scale: 1.2 }, 'fail', undefined],
  ['10 % slower, 2 000 calls/side: fail (at the practical difference)', { calls: 2000 }, { calls: 2000, scale: 1.1 }, 'fail', undefined],
  ['no change, 2 000 calls/side: fail (false fail)', { calls: 2000 }, { calls: 2000 }, 'fail', undefined],
  ['no change, 2 000 calls/side: pass', { calls: 2000 }, { calls: 2000 }, 'pass', undefined],
  ['5 % slower (below practical difference), 20 000 calls/side: fail', { calls: 20000 }, { calls: 20000, scale: 1.05 }, 'fail', undefined],
  ['spread only (sigma 0.5 -> 0.65, same median; P95 +28 %), 2 000/side: latency fail', { calls: 2000 }, { calls: 2000, sigma: 0.65 }, 'fail', 'latency'],
  ['errors 0.2 % -> 1.5 %, 2 000 calls/side: errorRate fail', { calls: 2000 }, { calls: 2000, errorRate: 0.015 }, 'fail', 'errorRate'],
  ['errors 0.2 % -> 0.2 %, 2 000 calls/side: errorRate fail (false fail)', { calls: 2000 }, { calls: 2000 }, 'fail', 'errorRate'],
  ['20 % slower, 300 calls/side (below the floor): inconclusive', { calls: 300 }, { calls: 300, scale: 1.2 }, 'inconclusive', undefined],
  ['20 % slower, baseline without data: inconclusive', { calls: 0 }, { calls: 2000, scale: 1.2 }, 'inconclusive', undefined],
];
const t0 = performance.now();
for (const [label, base, cand, verdict, metric] of rows) console.log(`  ${label.padEnd(96)} ${(share(base, cand, verdict, metric) * 100).toFixed(1).padStart(5)} %`);
console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);

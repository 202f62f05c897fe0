import { generateDataset } from '../src/eval/dataset';
import { evaluate, GRACE_BUCKETS } from '../src/eval/evaluate';
const d = generateDataset({ seed: Number(process.argv[2] ?? 42) });
const { episodes } = evaluate(d);
for (const e of episodes) {
  const m = d.anomalies.some((a) => a.series === e.series && a.metric === e.metric && e.firedBucket >= a.startBucket && e.firedBucket < a.endBucket + GRACE_BUCKETS);
  if (m) continue;
  const s = d.series[e.series]!;
  const i = e.firedBucket - s.firstBucket;
  const day = Math.floor(i / 288);
  const near = d.anomalies.filter((a) => a.series === e.series && a.metric === e.metric).map((a) => `${a.kind}@${((a.startBucket - s.firstBucket) / 288).toFixed(2)}-${((a.endBucket - s.firstBucket) / 288).toFixed(2)}`).join(' ');
  console.log(`${s.volumeClass} s${e.series} ${e.metric} day ${day} (dow ${day % 7}) ${((i % 288) / 12).toFixed(2)}h UTC dur ${e.resolvedBucket === null ? 'open' : (e.resolvedBucket - e.firedBucket) / 12}h calls ${s.calls[i]} hr ${s.callsHour[i]} err ${s.errors[i]} thr ${s.throttled[i]} p95 ${s.p95[i]?.toFixed(0)} p95h ${s.p95Hour[i]?.toFixed(0)} | ${near}`);
}
console.log('--- missed');
for (const a of d.anomalies) {
  const hit = episodes.some((e) => a.series === e.series && a.metric === e.metric && e.firedBucket >= a.startBucket && e.firedBucket < a.endBucket + GRACE_BUCKETS);
  if (hit) continue;
  const s = d.series[a.series]!;
  const i = a.startBucket - s.firstBucket;
  const len = a.endBucket - a.startBucket;
  let calls = 0, err = 0, thr = 0;
  for (let j = i; j < i + Math.min(len, 36); j++) { calls += s.calls[j]!; err += s.errors[j]!; thr += s.throttled[j]!; }
  let c0 = 0, e0 = 0, t0 = 0;
  for (let j = i - 288 * 7; j < i - 288 * 7 + 36; j++) { c0 += s.calls[j]!; e0 += s.errors[j]!; t0 += s.throttled[j]!; }
  console.log(`${s.volumeClass} s${a.series} ${a.metric} ${a.kind} clear=${a.clear} mag ${a.magnitude.toFixed(3)} len ${(len / 12).toFixed(1)}h day ${Math.floor(i / 288)} ${((i % 288) / 12).toFixed(1)}h | first<=3h: calls ${calls} err ${err} thr ${thr} | week before: calls ${c0} err ${e0} thr ${t0} | p95 ${s.p95[i + 6]?.toFixed(0)} p95h ${s.p95Hour[i + 12]?.toFixed(0)} wk-before p95h ${s.p95Hour[i + 12 - 288 * 7]?.toFixed(0)} callsH ${s.callsHour[i + 12]}`);
}

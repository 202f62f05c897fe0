import { generateDataset } from '../src/eval/dataset';
import { builtinEvalRules } from '../src/eval/evaluate';
import { assessEvidence, EvidenceHistory, prepareEvidence } from '../src/stats/evidence';
import { historyBuckets } from '../src/stats/baseline';
const [seed, sid, metric, day, hour, hours] = process.argv.slice(2);
const d = generateDataset({ seed: Number(seed) });
const s = d.series[Number(sid)]!;
const rule = builtinEvalRules()[metric as 'p95'];
const o = { sensitivity: rule.sensitivity, minDelta: rule.minDelta, minCalls: rule.minCalls, warmupPoints: rule.warmupPoints };
const h = new EvidenceHistory(historyBuckets());
const from = Number(day) * 288 + Math.round(Number(hour) * 12);
for (let i = 0; i < from + Number(hours) * 12; i++) {
  const b = s.firstBucket + i;
  const p = prepareEvidence(metric === 'p95' ? 'latency' : 'rate', h, b, o);
  const obs = metric === 'p95' ? { nature: 'latency' as const, calls5m: s.calls[i]!, p95_5m: s.p95[i]!, p50_5m: s.p50[i]!, calls1h: s.callsHour[i]!, p95_1h: s.p95Hour[i]!, p50_1h: s.p50Hour[i]! } : { nature: 'rate' as const, calls: s.calls[i]!, bad: metric === 'errorRate' ? s.errors[i]! : s.throttled[i]! };
  const a = assessEvidence(p, obs, o);
  for (const [f, v] of a.record) h.set(f, b, v);
  if (i >= from) {
    const extra = p.nature === 'latency' ? `w5 ${p.w5.seasonal === null ? '-' : Math.exp(p.w5.median).toFixed(0)}±${p.w5.sigma.toFixed(3)} wh ${p.wh.seasonal === null ? '-' : Math.exp(p.wh.median).toFixed(0)}±${p.wh.sigma.toFixed(3)}` : `ps ${p.seasonal.toFixed(4)} δ ${p.delta.toFixed(4)}`;
    console.log(`${(i / 288).toFixed(3)} ${((i % 288) / 12).toFixed(2)}h calls ${s.calls[i]} ${a.anomalous ? 'ANOM' : '    '} win ${a.window} val ${a.value?.toFixed(4)} base ${a.baseline?.toFixed(4)} thr ${a.threshold?.toFixed(4)} score ${a.score?.toFixed(2)} n ${a.calls} | ${extra}`);
  }
}

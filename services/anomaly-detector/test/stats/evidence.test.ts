import { describe, expect, it } from 'vitest';
import { DAY_BUCKETS } from '../../src/stats/baseline';
import { binomialUpperTail, normalUpperTail } from '../../src/stats/binomial';
import { assessEvidence, EvidenceHistory, FieldRing, p95Noise, prepareEvidence, type EvidenceOptions } from '../../src/stats/evidence';

const rate: EvidenceOptions = { sensitivity: 4, minDelta: 0.005, minCalls: 30, warmupPoints: 3 * DAY_BUCKETS };
const latency: EvidenceOptions = { sensitivity: 4, minDelta: 10, minCalls: 50, warmupPoints: 3 * DAY_BUCKETS };

/** Feeds `days` days of a rate series (calls, bad per bucket) through prepare/assess/store, like the detector. */
function feedRate(h: EvidenceHistory, from: number, buckets: number, calls: (b: number) => number, bad: (b: number) => number): void {
  for (let b = from; b < from + buckets; b++) {
    const p = prepareEvidence('rate', h, b, rate);
    const a = assessEvidence(p, { nature: 'rate', calls: calls(b), bad: bad(b) }, rate);
    for (const [f, v] of a.record) h.set(f, b, v);
  }
}

describe('FieldRing', () => {
  it('sums ranges exactly, with gaps, overwrites and wrap-around', () => {
    const r = new FieldRing(10);
    const ref = new Map<number, number>();
    const put = (b: number, v: number): void => {
      r.set(b, v);
      ref.set(b, v);
    };
    for (let b = 100; b < 130; b++) if (b % 4 !== 0) put(b, b * 0.5);
    put(127, 1); // overwrite an earlier bucket
    for (let lo = 118; lo <= 129; lo++) {
      for (let hi = lo; hi <= 131; hi++) {
        let want = 0;
        for (let b = Math.max(lo, 120); b <= Math.min(hi, 129); b++) want += ref.get(b) ?? 0;
        expect(r.sum(lo, hi)).toBeCloseTo(want, 9);
      }
    }
    expect(r.get(119)).toBeUndefined(); // fell out of the ring
    expect(r.get(127)).toBe(1);
    expect(r.get(128)).toBeUndefined(); // a gap
  });
});

describe('rate evidence (exact binomial over merged windows)', () => {
  it('needs the stated warm-up, then judges thin series over longer windows', () => {
    const h = new EvidenceHistory(8 * DAY_BUCKETS);
    // 10 calls per bucket, one error every 10th bucket: rate 1 %.
    feedRate(h, 0, 3 * DAY_BUCKETS - 1, () => 10, (b) => (b % 10 === 0 ? 1 : 0));
    expect(prepareEvidence('rate', h, 3 * DAY_BUCKETS - 1, rate).ready).toBe(false);
    feedRate(h, 3 * DAY_BUCKETS - 1, DAY_BUCKETS + 1, () => 10, (b) => (b % 10 === 0 ? 1 : 0));
    const b0 = 4 * DAY_BUCKETS;
    // One bucket with 2 of 10 failing is not enough evidence alone ...
    const p = prepareEvidence('rate', h, b0, rate);
    expect(p.ready).toBe(true);
    const single = assessEvidence(p, { nature: 'rate', calls: 10, bad: 2 }, rate);
    expect(single.anomalous).toBe(false);
    // ... but 9 % for an hour is: the verdict comes from a merged window with the exact tail.
    feedRate(h, b0, 11, () => 10, () => 1);
    const p2 = prepareEvidence('rate', h, b0 + 11, rate);
    const a = assessEvidence(p2, { nature: 'rate', calls: 10, bad: 1 }, rate);
    expect(a.anomalous).toBe(true);
    expect(['1h', '3h']).toContain(a.window);
    // The decision is the exact binomial tail against baseline + margin at P(Z > 4).
    const k = Math.round(a.value! * a.calls);
    expect(binomialUpperTail(k, a.calls, a.threshold!)).toBeLessThan(normalUpperTail(4));
    expect(a.threshold).toBeCloseTo(a.baseline! + Math.max(0.005, 0.15 * a.baseline!), 12);
  });

  it('adapts to a permanent shift: fires at first, no longer after a day', () => {
    const h = new EvidenceHistory(8 * DAY_BUCKETS);
    feedRate(h, 0, 5 * DAY_BUCKETS, () => 100, (b) => (b % 2 === 0 ? 1 : 0)); // 0.5 %
    const shifted = (b: number): number => 5 + (b % 2 === 0 ? 1 : 0); // 5.5 %
    feedRate(h, 5 * DAY_BUCKETS, 12, () => 100, shifted);
    const early = assessEvidence(prepareEvidence('rate', h, 5 * DAY_BUCKETS + 12, rate), { nature: 'rate', calls: 100, bad: 6 }, rate);
    expect(early.anomalous).toBe(true);
    feedRate(h, 5 * DAY_BUCKETS + 12, DAY_BUCKETS, () => 100, shifted);
    const later = assessEvidence(prepareEvidence('rate', h, 6 * DAY_BUCKETS + 12, rate), { nature: 'rate', calls: 100, bad: 6 }, rate);
    expect(later.anomalous).toBe(false);
  });
});

describe('latency evidence', () => {
  it('states the sampling noise of a P95 estimate', () => {
    // s = ln(P95/P50)/z95; sd = sqrt(0.95·0.05/n)/φ(z95)·s.
    const z = 1.6448536269514722;
    const phi = Math.exp(-(z * z) / 2) / Math.sqrt(2 * Math.PI);
    expect(p95Noise(200, 100, 100)).toBeCloseTo((Math.sqrt(0.0475 / 100) / phi) * (Math.log(2) / z), 12);
    expect(p95Noise(200, null, 100)).toBe(0);
  });

  it('uses the same time of day of earlier days and flags a clear rise on the 1 h window', () => {
    const h = new EvidenceHistory(8 * DAY_BUCKETS);
    const obs = (b: number, factor: number) => {
      const day = (b % DAY_BUCKETS) < DAY_BUCKETS / 2;
      const p95 = (day ? 300 : 150) * factor * (1 + 0.02 * Math.sin(b));
      return { nature: 'latency' as const, calls5m: 20, p95_5m: p95, p50_5m: p95 / 2.3, calls1h: 240, p95_1h: p95, p50_1h: p95 / 2.3 };
    };
    for (let b = 0; b < 5 * DAY_BUCKETS; b++) {
      const a = assessEvidence(prepareEvidence('latency', h, b, latency), obs(b, 1), latency);
      expect(a.anomalous).toBe(false);
      for (const [f, v] of a.record) h.set(f, b, v);
    }
    const b = 5 * DAY_BUCKETS + 30;
    const p = prepareEvidence('latency', h, b, latency);
    const normal = assessEvidence(p, obs(b, 1), latency);
    expect(normal.anomalous).toBe(false);
    expect(normal.window).toBe('1h'); // 20 calls in 5 min are below min_calls
    expect(normal.baseline!).toBeGreaterThan(280);
    expect(assessEvidence(p, obs(b, 1.8), latency).anomalous).toBe(true);
  });
});

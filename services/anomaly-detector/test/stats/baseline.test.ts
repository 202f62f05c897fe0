import { describe, expect, it } from 'vitest';
import { computeBaseline, DAY_BUCKETS, judge } from '../../src/stats/baseline';

describe('robust baseline', () => {
  it('is null during warm-up, rolling median/MAD after it', () => {
    const h = new Map<number, number>();
    for (let b = 0; b < 10; b++) h.set(b, 100 + (b % 3)); // 100, 101, 102 ...
    expect(computeBaseline(h, 10, { warmupPoints: 12 })).toBeNull();
    for (let b = 10; b < 36; b++) h.set(b, 100 + (b % 3));
    const base = computeBaseline(h, 36, { warmupPoints: 12 })!;
    // 36 points: twelve each of 100, 101, 102 -> median 101, MAD 1.
    expect(base).toEqual({ mode: 'rolling', median: 101, robustSigma: 1.4826, points: 36 });
  });

  it('uses the same time of day on earlier days once three days exist, ignoring one outlier day', () => {
    const h = new Map<number, number>();
    for (let b = 0; b < 4 * DAY_BUCKETS; b++) {
      const slot = b % DAY_BUCKETS;
      h.set(b, slot < DAY_BUCKETS / 2 ? 100 : 300); // night 100, day 300
    }
    for (let o = -6; o <= 6; o++) h.set(2 * DAY_BUCKETS + 200 + o, 5000); // one bad hour on day 2
    const base = computeBaseline(h, 4 * DAY_BUCKETS + 200, { warmupPoints: 12 })!;
    expect(base.mode).toBe('seasonal');
    expect(base.median).toBe(300);
    expect(base.points).toBe(4 * 13);
  });

  it('judges upward deviations with the stated sensitivity and floors', () => {
    const base = { mode: 'rolling' as const, median: 200, robustSigma: 10, points: 36 };
    // sigma = max(10, 5 % of 200 = 10) = 10; upper = 200 + max(4 * 10, 50) = 250.
    expect(judge(base, 250, 100, { sensitivity: 4, minDelta: 50, nature: 'latency' })).toMatchObject({ anomalous: false, upper: 250, sigma: 10 });
    expect(judge(base, 251, 100, { sensitivity: 4, minDelta: 50, nature: 'latency' }).anomalous).toBe(true);
    expect(judge(base, 100, 100, { sensitivity: 4, minDelta: 50, nature: 'latency' }).anomalous).toBe(false);
    // Ratios: binomial floor sqrt(p(1-p)/n) at p = 0.01, n = 100 -> 0.00995; upper = 0.01 + 4 * 0.00995.
    const r = judge({ mode: 'rolling', median: 0.01, robustSigma: 0, points: 36 }, 0.05, 100, { sensitivity: 4, minDelta: 0.02, nature: 'ratio' });
    expect(r.sigma).toBeCloseTo(Math.sqrt(0.01 * 0.99 / 100), 12);
    expect(r.upper).toBeCloseTo(0.01 + 4 * Math.sqrt(0.01 * 0.99 / 100), 12);
    expect(r.anomalous).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { addToBuckets, bucketIndexOf, type SketchBuckets } from '@pulsegate/windows';
import { binomialUpperTail, exactRateTest, logGamma, mannWhitneyBuckets, normalSf } from '../../src/canary/stats';

const choose = (n: number, k: number): number => {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
};

describe('canary statistics against exact references', () => {
  it('normalSf and logGamma', () => {
    expect(normalSf(0)).toBeCloseTo(0.5, 7);
    expect(normalSf(1.959963984540054)).toBeCloseTo(0.025, 6);
    expect(normalSf(-2.326347874040841)).toBeCloseTo(0.99, 6);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 10);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 10);
  });

  it('binomialUpperTail equals the summed pmf', () => {
    for (const [k, n, p] of [[3, 10, 0.2], [0, 5, 0.5], [7, 7, 0.9], [12, 40, 0.1]] as const) {
      let ref = 0;
      for (let i = k; i <= n; i++) ref += choose(n, i) * p ** i * (1 - p) ** (n - i);
      expect(binomialUpperTail(k, n, p)).toBeCloseTo(ref, 12);
    }
    expect(binomialUpperTail(11, 10, 0.5)).toBe(0);
  });

  it('exactRateTest: no events is p = 1; 0 vs 5 events of equal calls is 1/32', () => {
    expect(exactRateTest(0, 1000, 0, 1000)).toBe(1);
    expect(exactRateTest(0, 1000, 5, 1000)).toBeCloseTo(1 / 32, 12);
    expect(exactRateTest(5, 1000, 0, 1000)).toBe(1);
  });

  it('mannWhitneyBuckets equals the pairwise count over bucketed values (ties ½)', () => {
    const a = [10, 12, 12, 15, 30, 31, 100];
    const b = [11, 12, 40, 41, 45, 100, 200, 300];
    const ba: SketchBuckets = {};
    const bb: SketchBuckets = {};
    for (const x of a) addToBuckets(ba, x);
    for (const x of b) addToBuckets(bb, x);
    let u = 0;
    for (const x of a) for (const y of b) u += bucketIndexOf(y) > bucketIndexOf(x) ? 1 : bucketIndexOf(y) === bucketIndexOf(x) ? 0.5 : 0;
    const r = mannWhitneyBuckets(ba, bb);
    expect(r.u).toBe(u);
    expect(r.effect).toBeCloseTo(u / (a.length * b.length), 12);
    // Reference z: normal approximation with tie correction and continuity correction.
    const all = [...a, ...b].map(bucketIndexOf);
    const groups = new Map<number | string, number>();
    for (const k of all) groups.set(k, (groups.get(k) ?? 0) + 1);
    const n = all.length;
    const ties = [...groups.values()].reduce((acc, t) => acc + t ** 3 - t, 0);
    const sd = Math.sqrt(((a.length * b.length) / 12) * (n + 1 - ties / (n * (n - 1))));
    const z = (u - (a.length * b.length) / 2 - 0.5) / sd;
    expect(r.z).toBeCloseTo(z, 12);
    expect(r.pValue).toBeCloseTo(normalSf(z), 12);
    expect(r.pValue).toBeLessThan(0.1);
    expect(mannWhitneyBuckets(bb, ba).pValue).toBeGreaterThan(0.9);
    expect(mannWhitneyBuckets(ba, ba)).toMatchObject({ effect: 0.5, z: 0 });
    expect(mannWhitneyBuckets({}, bb).pValue).toBe(1);
  });
});

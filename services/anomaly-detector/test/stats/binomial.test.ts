import { describe, expect, it } from 'vitest';
import { binomialUpperTail, logGamma, normalUpperTail } from '../../src/stats/binomial';

/** Reference: P(X ≥ k) summed exactly term by term with BigInt binomial coefficients (small n). */
function exactTail(k: number, n: number, p: number): number {
  let sum = 0;
  let coef = 1n;
  for (let i = 0; i <= n; i++) {
    if (i > 0) coef = (coef * BigInt(n - i + 1)) / BigInt(i);
    if (i >= k) sum += Number(coef) * p ** i * (1 - p) ** (n - i);
  }
  return sum;
}

describe('exact binomial tail', () => {
  it('matches the term-by-term sum to 1e-10 relative', () => {
    for (const [n, p] of [
      [10, 0.01],
      [50, 0.05],
      [100, 0.2],
      [120, 0.5],
      [200, 0.001],
    ] as const) {
      for (let k = 1; k <= n; k += Math.max(1, Math.floor(n / 17))) {
        const want = exactTail(k, n, p);
        const got = binomialUpperTail(k, n, p);
        if (want > 1e-300) expect(Math.abs(got - want) / want).toBeLessThan(1e-10);
      }
    }
  });

  it('handles the edges and refuses bad arguments', () => {
    expect(binomialUpperTail(0, 10, 0.3)).toBe(1);
    expect(binomialUpperTail(11, 10, 0.3)).toBe(0);
    expect(binomialUpperTail(1, 10, 0)).toBe(0);
    expect(binomialUpperTail(10, 10, 1)).toBe(1);
    // 9 errors in 100 calls at a 1 % baseline: P = 1.0e-6 (exact sum).
    expect(binomialUpperTail(9, 100, 0.01)).toBeCloseTo(exactTail(9, 100, 0.01), 15);
    expect(() => binomialUpperTail(1, -1, 0.5)).toThrow(RangeError);
    expect(() => binomialUpperTail(1, 10, 1.5)).toThrow(RangeError);
  });

  it('is monotone in k and stays in [0, 1] for large n', () => {
    let last = 1;
    for (let k = 0; k <= 2000; k += 50) {
      const t = binomialUpperTail(k, 100_000, 0.01);
      expect(t).toBeLessThanOrEqual(last);
      expect(t).toBeGreaterThanOrEqual(0);
      last = t;
    }
    // Mean 1000, sd ≈ 31.5: 1100 is ≈ 3.2 sd above, normal approximation ≈ 7e-4.
    expect(binomialUpperTail(1100, 100_000, 0.01)).toBeGreaterThan(3e-4);
    expect(binomialUpperTail(1100, 100_000, 0.01)).toBeLessThan(1.5e-3);
  });

  it('normal tail and log-gamma agree with known values', () => {
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(normalUpperTail(4)).toBeCloseTo(3.167124e-5, 9);
    expect(normalUpperTail(-1.959964)).toBeCloseTo(0.975, 6);
    expect(logGamma(10)).toBeCloseTo(Math.log(362_880), 10);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 10);
  });
});

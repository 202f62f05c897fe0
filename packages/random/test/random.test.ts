import { describe, expect, it } from 'vitest';
import { binomial, gaussian, lognormal, seededRandom } from '../src/index';

describe('seededRandom', () => {
  it('repeats for a seed and differs between seeds', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
  });

  it('is uniform on [0, 1): mean ≈ 1/2, variance ≈ 1/12 over 100 000 draws', () => {
    const r = seededRandom(1);
    const n = 100_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const x = r();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
      sq += x * x;
    }
    const mean = sum / n;
    expect(mean).toBeCloseTo(0.5, 2);
    expect(sq / n - mean * mean).toBeCloseTo(1 / 12, 2);
  });
});

describe('distributions', () => {
  it('gaussian has mean 0 and standard deviation 1', () => {
    const r = seededRandom(7);
    const xs = Array.from({ length: 100_000 }, () => gaussian(r));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(sd - 1)).toBeLessThan(0.02);
  });

  it('lognormal has the requested median', () => {
    const r = seededRandom(9);
    const xs = Array.from({ length: 50_001 }, () => lognormal(r, 200, 0.5)).sort((a, b) => a - b);
    expect(Math.abs(xs[25_000]! / 200 - 1)).toBeLessThan(0.03);
  });

  it('binomial stays within 0..n with mean n·p in both regimes', () => {
    const r = seededRandom(3);
    for (const [n, p] of [[100, 0.05], [10_000, 0.3]] as const) {
      const draws = Array.from({ length: 20_000 }, () => binomial(r, n, p));
      expect(draws.every((k) => Number.isInteger(k) && k >= 0 && k <= n)).toBe(true);
      const mean = draws.reduce((s, k) => s + k, 0) / draws.length;
      expect(Math.abs(mean / (n * p) - 1)).toBeLessThan(0.02);
    }
    expect(binomial(r, 0, 0.5)).toBe(0);
    expect(binomial(r, 10, 1)).toBe(10);
  });
});

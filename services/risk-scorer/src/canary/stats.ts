import { bucketValue, ZERO_BUCKET, type SketchBuckets } from '@pulsegate/windows';

/** Upper-tail probability of the standard normal, P(Z ≥ z) (erfc, Numerical Recipes, |error| < 1.2e-7). */
export function normalSf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error < 1e-13). */
export function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = c[0]!;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X ≥ k) for X ~ Binomial(n, p), exact (summed from the pmf in log space); n, k integers. */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  const base = logGamma(n + 1);
  let sum = 0;
  for (let i = k; i <= n; i++) {
    const term = Math.exp(base - logGamma(i + 1) - logGamma(n - i + 1) + i * lp + (n - i) * lq);
    sum += term;
    if (term < sum * 1e-17 && i > n * p) break; // past the mode, the rest cannot matter
  }
  return Math.min(1, sum);
}

/**
 * One-sided exact test that the candidate's event rate exceeds the baseline's, for sparse counts:
 * conditional on the total k = xA + xB, xB ~ Binomial(k, nB / (nA + nB)) when the rates are
 * equal (the conditional test for two Poisson rates; no normal approximation, fine at 0 or 1
 * events). Returns the p-value P(X ≥ xB).
 */
export function exactRateTest(xA: number, nA: number, xB: number, nB: number): number {
  const a = Math.round(xA);
  const b = Math.round(xB);
  return binomialUpperTail(b, a + b, nB / (nA + nB));
}

/** Result of a Mann–Whitney U test over sketch buckets. */
export interface RankTest {
  /** Pairs (baseline a, candidate b) with b > a, ties counted ½. */
  u: number;
  /** U / (nA × nB): probability a candidate call is slower than a baseline call (0.5 = no shift). */
  effect: number;
  /** Normal approximation with tie and continuity correction. */
  z: number;
  /** One-sided p-value for "candidate slower". */
  pValue: number;
}

/**
 * Mann–Whitney U over two latency sketches: all values in one bucket are ties (the sketch keeps no
 * finer order), ranked with mid-ranks, so the test costs one pass over the buckets instead of one
 * per call. Weights are counts.
 */
export function mannWhitneyBuckets(a: SketchBuckets, b: SketchBuckets): RankTest {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort((x, y) => (x === ZERO_BUCKET ? -Infinity : Number(x)) - (y === ZERO_BUCKET ? -Infinity : Number(y)));
  let nA = 0;
  let nB = 0;
  for (const k of keys) {
    nA += Math.max(0, a[k] ?? 0);
    nB += Math.max(0, b[k] ?? 0);
  }
  let below = 0;
  let u = 0;
  let ties = 0;
  for (const k of keys) {
    const ca = Math.max(0, a[k] ?? 0);
    const cb = Math.max(0, b[k] ?? 0);
    u += cb * (below + ca / 2);
    below += ca;
    const t = ca + cb;
    ties += t * t * t - t;
  }
  const n = nA + nB;
  if (nA === 0 || nB === 0) return { u, effect: 0.5, z: 0, pValue: 1 };
  const mean = (nA * nB) / 2;
  const variance = ((nA * nB) / 12) * (n + 1 - ties / (n * (n - 1)));
  const diff = u - mean;
  const z = variance <= 0 ? 0 : (diff - 0.5 * Math.sign(diff)) / Math.sqrt(variance);
  return { u, effect: u / (nA * nB), z, pValue: variance <= 0 ? 1 : normalSf(z) };
}

/** Total weight of buckets strictly above `key`'s bucket, and the total. */
export function weightAbove(buckets: SketchBuckets, key: string): { above: number; total: number } {
  const limit = key === ZERO_BUCKET ? -Infinity : Number(key);
  let above = 0;
  let total = 0;
  for (const [k, w] of Object.entries(buckets)) {
    if (!(w > 0)) continue;
    total += w;
    if ((k === ZERO_BUCKET ? -Infinity : Number(k)) > limit) above += w;
  }
  return { above, total };
}

/** The bucket key holding quantile q (0–1) of the buckets, or null when empty. */
export function quantileKey(buckets: SketchBuckets, q: number): string | null {
  const keys = Object.keys(buckets).filter((k) => (buckets[k] ?? 0) > 0).sort((x, y) => (x === ZERO_BUCKET ? -Infinity : Number(x)) - (y === ZERO_BUCKET ? -Infinity : Number(y)));
  let total = 0;
  for (const k of keys) total += buckets[k]!;
  if (total === 0) return null;
  let cum = 0;
  for (const k of keys) {
    cum += buckets[k]!;
    if (cum >= q * total) return k;
  }
  return keys[keys.length - 1]!;
}

export { bucketValue };

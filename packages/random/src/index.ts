/**
 * Seeded pseudo-random numbers for generated data sets (anomaly evaluation, release histories,
 * demo traffic, tests): the same seed gives the same numbers on every machine, so a figure or a
 * failure can be replayed.
 */

/** Uniform numbers in [0, 1) from a 32-bit seed (the mulberry32 generator). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviate (Box–Muller); the floor on u keeps the logarithm finite. */
export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Lognormal deviate with the given median and shape σ (of the underlying normal). */
export function lognormal(random: () => number, median: number, sigma: number): number {
  return median * Math.exp(sigma * gaussian(random));
}

/** Binomial draw: Poisson (Knuth) for small n·p, normal approximation otherwise. */
export function binomial(random: () => number, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (n * p < 30) {
    const limit = Math.exp(-n * p);
    let k = 0;
    for (let prod = random(); prod > limit; prod *= random()) k++;
    return Math.min(n, k);
  }
  const k = Math.round(n * p + Math.sqrt(n * p * (1 - p)) * gaussian(random));
  return Math.min(n, Math.max(0, k));
}

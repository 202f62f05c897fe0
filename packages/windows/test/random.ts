/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal by Box–Muller. */
export function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/**
 * Exact weighted quantile with the sketch's definition: the smallest value x whose cumulative
 * weight (values ≤ x) is ≥ q × total; q = 0 gives the minimum.
 */
export function exactQuantile(values: ReadonlyArray<{ v: number; w: number }>, q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a.v - b.v);
  const total = sorted.reduce((s, x) => s + x.w, 0);
  const rank = q * total;
  let cum = 0;
  for (const x of sorted) {
    cum += x.w;
    if (cum >= rank) return x.v;
  }
  return sorted[sorted.length - 1]!.v;
}

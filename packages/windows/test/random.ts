export { seededRandom as rng, gaussian as normal } from '@pulsegate/random';

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

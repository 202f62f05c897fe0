/**
 * Mergeable log-bucket latency sketch in the style of DDSketch (Masson, Rim, Lee, VLDB 2019,
 * https://arxiv.org/abs/1908.10693).
 *
 * A value x > 0 goes to bucket i = ceil(log_γ x) with γ = (1 + α) / (1 − α); bucket i covers
 * (γ^(i−1), γ^i] and answers with 2γ^i / (γ + 1). Every value in the bucket is then within a
 * relative error α of that answer, so any quantile is answered with relative error ≤ α.
 * Merging is adding bucket weights, so sketches of minutes merge into hours and windows exactly
 * as if all values had been inserted into one sketch.
 */

/** Relative accuracy α of every quantile answer (0.01 = 1 %), for values ≥ SKETCH_MIN_VALUE_MS. */
export const SKETCH_RELATIVE_ACCURACY = 0.01;
/** Values below this (ms, i.e. 1 µs) share the zero bucket and are answered as 0 (absolute error < 1 µs). */
export const SKETCH_MIN_VALUE_MS = 1e-3;
/** Key of the zero bucket in the serialised form. */
export const ZERO_BUCKET = 'z';

const GAMMA = (1 + SKETCH_RELATIVE_ACCURACY) / (1 - SKETCH_RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);

/**
 * Serialised sketch: bucket index (decimal string) or "z" → summed weight. This is the compact
 * form stored in Redis and merged there by key-wise addition. With latencies capped at one day
 * (MAX_LATENCY_MS) there are at most ceil(log_γ(8.64e7 / 1e-3)) + 1 ≈ 1 260 keys.
 */
export type SketchBuckets = Record<string, number>;

/** Bucket index of a latency in ms; "z" below SKETCH_MIN_VALUE_MS. */
export function bucketKeyOf(valueMs: number): string {
  return String(bucketIndexOf(valueMs));
}

/** A bucket's property key in SketchBuckets: its index, or "z". */
export type BucketIndex = number | typeof ZERO_BUCKET;

/** bucketKeyOf as a number (or "z"): a numeric property key names the same entry without building the string. */
export function bucketIndexOf(valueMs: number): BucketIndex {
  return valueMs >= SKETCH_MIN_VALUE_MS ? Math.ceil(Math.log(valueMs) / LOG_GAMMA) : ZERO_BUCKET;
}

/** The value a bucket answers with: the point of (γ^(i−1), γ^i] with equal relative distance to both ends. */
export function bucketValue(key: string): number {
  if (key === ZERO_BUCKET) return 0;
  const i = Number(key);
  return (2 * Math.exp(i * LOG_GAMMA)) / (GAMMA + 1);
}

/** Adds `weight` at `valueMs` to serialised buckets in place. */
export function addToBuckets(buckets: SketchBuckets, valueMs: number, weight = 1): void {
  const k = bucketIndexOf(valueMs);
  buckets[k] = (buckets[k] ?? 0) + weight;
}

/** Adds every bucket of `from` into `into` (in place). */
export function mergeBuckets(into: SketchBuckets, from: SketchBuckets): void {
  for (const k in from) into[k] = (into[k] ?? 0) + from[k]!;
}

/**
 * Weighted quantile of serialised buckets, q in [0, 1]: the answer for the smallest value x such
 * that the weight of values ≤ x is ≥ q × total (q = 0 gives the minimum). Null when empty.
 */
export function quantileOfBuckets(buckets: SketchBuckets, q: number): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  let total = 0;
  const keys: Array<{ i: number; key: string; w: number }> = [];
  for (const key in buckets) {
    const w = buckets[key]!;
    if (!(w > 0)) continue;
    total += w;
    keys.push({ i: key === ZERO_BUCKET ? -Infinity : Number(key), key, w });
  }
  if (total === 0) return null;
  keys.sort((a, b) => a.i - b.i);
  const rank = q * total;
  let cum = 0;
  for (const b of keys) {
    cum += b.w;
    if (cum >= rank) return bucketValue(b.key);
  }
  return bucketValue(keys[keys.length - 1]!.key);
}

/**
 * Weight of values at or under `boundMs`: every bucket whose answer is ≤ the bound (the zero bucket
 * included), so a value within the relative accuracy α of the bound may land on either side.
 */
export function weightAtOrBelow(buckets: SketchBuckets, boundMs: number): number {
  let sum = 0;
  for (const key in buckets) {
    const w = buckets[key]!;
    if (w > 0 && bucketValue(key) <= boundMs) sum += w;
  }
  return sum;
}

/** Object form of the sketch for code that inserts values one by one. */
export class LatencySketch {
  private readonly buckets: SketchBuckets;

  constructor(buckets: SketchBuckets = {}) {
    this.buckets = { ...buckets };
  }

  /** Records `weight` calls (default 1; sample weights may be fractional) of `valueMs` ms. */
  add(valueMs: number, weight = 1): this {
    if (!(weight > 0) || !Number.isFinite(valueMs) || valueMs < 0) throw new RangeError('latency must be ≥ 0 and weight > 0');
    addToBuckets(this.buckets, valueMs, weight);
    return this;
  }

  merge(other: LatencySketch): this {
    mergeBuckets(this.buckets, other.buckets);
    return this;
  }

  /** Total recorded weight. */
  get count(): number {
    let n = 0;
    for (const k in this.buckets) n += this.buckets[k]!;
    return n;
  }

  /** Quantile in ms (relative error ≤ SKETCH_RELATIVE_ACCURACY); null when empty. */
  quantile(q: number): number | null {
    return quantileOfBuckets(this.buckets, q);
  }

  /** Compact serialised form (a copy). */
  toBuckets(): SketchBuckets {
    return { ...this.buckets };
  }

  /** Compact JSON string, e.g. `{"312":4,"z":1}`. */
  serialize(): string {
    return JSON.stringify(this.buckets);
  }

  static deserialize(text: string): LatencySketch {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('sketch: expected a JSON object');
    const out: SketchBuckets = {};
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if ((k !== ZERO_BUCKET && !/^-?\d+$/.test(k)) || typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`sketch: bad bucket ${k}`);
      out[k] = v;
    }
    return new LatencySketch(out);
  }
}

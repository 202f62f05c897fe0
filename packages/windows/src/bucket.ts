import { UNMAPPED } from '@pulsegate/events';
import { mergeBuckets, type SketchBuckets } from './sketch';

/**
 * Contents of one series-bucket (one series over one minute or one hour), also the shape of a
 * delta. Short field names because this is what Redis stores, once per series-minute.
 * All counts are weighted (sample weights honoured), so they may be fractional.
 */
export interface BucketData {
  /** calls */
  c: number;
  /** successes */
  s: number;
  /** throttled calls (HTTP 429) */
  t: number;
  /** non-successful calls per error code (throttled calls appear as RATE_LIMIT) */
  e: Record<string, number>;
  /** latency sketch of the calls (ms) */
  l: SketchBuckets;
}

/** Most distinct error codes kept per series-bucket; further codes are folded into OVERFLOW_CODE. */
export const MAX_ERROR_CODES_PER_BUCKET = 32;
/** Where error codes beyond the cap are counted (lower case: no real code can look like it). */
export const OVERFLOW_CODE = '__overflow__';

/** An empty bucket. */
export function emptyBucket(): BucketData {
  return { c: 0, s: 0, t: 0, e: {}, l: {} };
}

/**
 * Adds `from` into `into` in place. The Lua merge in lua.ts implements the same rule: a bucket
 * keeps at most MAX_ERROR_CODES_PER_BUCKET distinct codes plus UNMAPPED (always kept, so
 * error-mapping coverage stays exact) and OVERFLOW_CODE, which counts every further code.
 */
export function mergeBucket(into: BucketData, from: BucketData): BucketData {
  into.c += from.c;
  into.s += from.s;
  into.t += from.t;
  for (const code in from.e) addErrorCode(into, code, from.e[code]!);
  mergeBuckets(into.l, from.l);
  return into;
}

/** Adds `w` calls with error `code` in place, keeping the cap on distinct codes (the rule of mergeBucket). */
export function addErrorCode(into: Pick<BucketData, 'e'>, code: string, w: number): void {
  const e = into.e;
  if (e[code] !== undefined) e[code] += w;
  else if (code === UNMAPPED || code === OVERFLOW_CODE) e[code] = w;
  else {
    let n = 0;
    for (const c in e) if (c !== UNMAPPED && c !== OVERFLOW_CODE) n++;
    if (n < MAX_ERROR_CODES_PER_BUCKET) e[code] = w;
    else e[OVERFLOW_CODE] = (e[OVERFLOW_CODE] ?? 0) + w;
  }
}

export function cloneBucket(b: BucketData): BucketData {
  return { c: b.c, s: b.s, t: b.t, e: { ...b.e }, l: { ...b.l } };
}

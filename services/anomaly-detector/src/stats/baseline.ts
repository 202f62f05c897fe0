/** Statistical history is kept in 5-minute buckets (the length of the window anomaly rules read). */
export const BUCKET_MS = 300_000;
/** Buckets per day. */
export const DAY_BUCKETS = 86_400_000 / BUCKET_MS;

/** Bucket index (epoch ms / 5 min) of a time. */
export function bucketOf(at: number): number {
  return Math.floor(at / BUCKET_MS);
}

/** Buckets kept per series: the seasonal look-back plus one day. */
export function historyBuckets(options: { seasonalDays?: number } = {}): number {
  return ((options.seasonalDays ?? 7) + 1) * DAY_BUCKETS;
}


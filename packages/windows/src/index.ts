export {
  SKETCH_RELATIVE_ACCURACY,
  SKETCH_MIN_VALUE_MS,
  ZERO_BUCKET,
  LatencySketch,
  bucketKeyOf,
  bucketValue,
  addToBuckets,
  mergeBuckets,
  bucketIndexOf,
  quantileOfBuckets,
  weightAtOrBelow,
} from './sketch';
export type { SketchBuckets, BucketIndex } from './sketch';
export { emptyBucket, mergeBucket, cloneBucket, MAX_ERROR_CODES_PER_BUCKET, OVERFLOW_CODE } from './bucket';
export type { BucketData } from './bucket';
export { KEY_PREFIX, MINUTE_MS, HOUR_MS, RESOLUTION_MS, redisKey, connectorTag, seriesField, parseSeriesField, keySlot, bucketKey, legacyBucketKey, minuteArchiveKey } from './keys';
export type { Resolution, SeriesId, KeyParts } from './keys';
export { DEFAULT_WINDOW_CONFIG } from './config';
export { encodeRecord, decodeRecord, decodeBucketValue, archiveEntries, decodeMinuteArchive, encodeArchiveEntry } from './codec';
export { DEFAULT_DEDUP_HORIZON_MS } from './dedup';
export type { GroupDedup } from './dedup';
export type { WindowConfig } from './config';
export { aggregateBatch, applyBatch, deltaBucket, deltaJson, recordEvents, settledHourStart } from './aggregate';
export { SettledDayCache, DAY_MS } from './day-cache';
export type { SettledDayCacheOptions } from './day-cache';
export type { BatchRecord, ApplyInput, ApplyResult, BucketDelta, DeltaData, ConnectorGroup, GroupOutcome, PreparedGroup, GroupWriter } from './aggregate';
export type { WindowStore, SeriesInfo, ConnectorInfo, DroppedCounts } from './store';
export { MemoryWindowStore } from './memory-store';
export type { MemoryWindowStoreOptions } from './memory-store';
export { RedisWindowStore, settledBucketStart } from './redis-store';
export type { RedisWindowStoreOptions, RedisTarget } from './redis-store';
export { planRange, readRanges, mergeAll, metricsOf, matches } from './reader';
export type { RangePiece, RangePlan, SeriesFilter, ReadCache } from './reader';
export { readTotals, bucketReads, seriesSetKey, DEFAULT_CHUNK_BUCKETS, SERIES_STEP } from './totals';
export type { TotalsOptions, TotalsSeries } from './totals';

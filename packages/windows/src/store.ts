import type { CatalogEvent } from '@pulsegate/events';
import type { ApplyInput, ApplyResult } from './aggregate';
import type { BucketData } from './bucket';
import type { Resolution, SeriesId } from './keys';

/** A series with the event time of its latest call. */
export interface SeriesInfo extends SeriesId {
  /** Latest event time seen, epoch ms. */
  lastSeen: number;
}

/** A connector of a tenant with the event time of its latest call (minute precision). */
export interface ConnectorInfo {
  connector: string;
  lastSeen: number;
}

/** Events dropped for arriving too late or too far in the future (weighted counts), and duplicates. */
export interface DroppedCounts {
  late: number;
  future: number;
  /** Events (spans, unweighted) not counted because their (tenant, traceId, spanId) was already counted within the dedup horizon. */
  duplicates: number;
}

/** A grid of buckets read by WindowStore.readBuckets. */
export interface BucketGrid {
  /**
   * Adds the bucket of series i at starts[j] (getBuckets' result[i][j]) to each of `into` in place,
   * as mergeBucket would; false (nothing added) when it is absent or expired.
   */
  mergeInto(i: number, j: number, into: readonly BucketData[]): boolean;
}

/**
 * Rolling-window storage of invocation metrics, in event time. Two implementations (memory for the
 * embedded mode, Redis / Redis Cluster for the distributed one) pass one contract test suite.
 */
export interface WindowStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Applies one partition batch with exactly-once effects: a batch (or part of one) whose offsets
   * were already applied for a tenant/connector is skipped, so at-least-once delivery never
   * double counts. Throws a retriable error when the store is unreachable.
   */
  apply(input: ApplyInput): Promise<ApplyResult>;
  /** Buckets of some series at some bucket starts: result[i][j] is series i at starts[j] (null when absent or expired). */
  getBuckets(tenant: string, connector: string, resolution: Resolution, series: readonly SeriesId[], starts: readonly number[]): Promise<Array<Array<BucketData | null>>>;
  /**
   * The same grid as getBuckets, for readers that only add buckets up (readTotals): fetched at the
   * call, decoded when merged, never kept as BucketData of their own.
   */
  readBuckets(tenant: string, connector: string, resolution: Resolution, series: readonly SeriesId[], starts: readonly number[]): Promise<BucketGrid>;
  /**
   * A counter of the connector bumped, atomically with the write, by every apply that writes into
   * a settled hour (late events); 0 before any. Caches of settled hours compare it.
   */
  generation(tenant: string, connector: string): Promise<number>;
  /** Every series of a connector ever seen (kept beyond bucket retention, for stale-series reports). */
  listSeries(tenant: string, connector: string): Promise<SeriesInfo[]>;
  /** Every connector of a tenant ever seen. */
  listConnectors(tenant: string): Promise<ConnectorInfo[]>;
  listTenants(): Promise<string[]>;
  dropped(tenant: string, connector: string): Promise<DroppedCounts>;
  /** Stores a catalog entry unless a newer one (by `at`) is already stored. */
  putCatalog(event: CatalogEvent): Promise<void>;
  getCatalog(tenant: string, connector: string): Promise<CatalogEvent | null>;
  /**
   * The next offset of a partition of `source` (ApplyInput.source) that the store has not applied
   * every record before, as advanceOffset last raised it; undefined when it holds none. Kept with
   * the effects (same Redis), so a store that lost recent writes reports the older offset, and the
   * bus reads again from there (SubscribeOptions.offsets).
   */
  resumeOffset(source: string, partition: number): Promise<string | undefined>;
  /**
   * Records that every record of the partition before `next` is applied (call after applying them
   * all, never before); never lowers the stored offset.
   */
  advanceOffset(source: string, partition: number, next: string): Promise<void>;
  /** True when the store answers. */
  ping(): Promise<boolean>;
  /** Idempotent. */
  close(): Promise<void>;
}

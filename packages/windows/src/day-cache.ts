import { emptyBucket, mergeBucket, type BucketData } from './bucket';
import { HOUR_MS } from './keys';
import { settledHourStart } from './aggregate';

/** One UTC day, ms. */
export const DAY_MS = 24 * HOUR_MS;

export interface SettledDayCacheOptions {
  /** Most series-days kept (least recently used go first). Default 20 000 (a few KiB each). */
  maxEntries?: number;
}

interface Entry {
  generation: number;
  data: BucketData;
}

/**
 * Merged hour buckets of whole settled UTC days, per series, so a 7- or 30-day query reads the
 * days' merged buckets from memory and only the recent hours and minutes from the store.
 *
 * A day is cached only when its last hour started before settledHourStart(now) − 1 h: writers bump
 * the connector's generation with every write into an hour before settledHourStart(their now), so
 * with clocks less than an hour apart every change to a cached day bumps it. An entry is used only
 * while the connector's generation equals the one read before the day was fetched, so answers
 * stay exactly those of reading every hour bucket.
 */
export class SettledDayCache {
  private readonly maxEntries: number;
  private readonly entries = new Map<string, Entry>();

  constructor(options: SettledDayCacheOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 20_000);
  }

  /** Start of the newest day that may be cached at `now` (days ending at or before this). */
  static cacheableBefore(now: number): number {
    return settledHourStart(now) - HOUR_MS;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The merged day of a series when cached under this generation. The result must not be modified. */
  get(key: string, generation: number): BucketData | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.generation !== generation) {
      this.entries.delete(key);
      return undefined;
    }
    // Re-insert: Map order is the LRU order.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.data;
  }

  set(key: string, generation: number, data: BucketData): void {
    this.entries.delete(key);
    this.entries.set(key, { generation, data });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Merges a day's 24 hour buckets (nulls skipped) into one. */
  static mergeDay(hours: ReadonlyArray<BucketData | null | undefined>): BucketData {
    const acc = emptyBucket();
    for (const h of hours) if (h !== null && h !== undefined) mergeBucket(acc, h);
    return acc;
  }
}

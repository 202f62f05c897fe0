import { createHash } from 'node:crypto';
import { emptyBucket, mergeBucket, type BucketData } from './bucket';
import type { WindowConfig } from './config';
import { DAY_MS, SettledDayCache } from './day-cache';
import { connectorTag, HOUR_MS, seriesField, type Resolution, type SeriesId } from './keys';
import type { RangePlan } from './reader';
import type { BucketGrid, WindowStore } from './store';

/**
 * Bucket reads one store call (and one synchronous decode and merge step) covers by default. Two
 * steps are alive at once (one read in flight, one being merged): their keys, requests and replies
 * are what a young-generation collection must copy, so the step size sets the length of those
 * pauses as much as its own; at 4 000 the collections during a cold 30-day read of 5 000 series
 * took 15 – 25 ms each, at 2 000 under 15 ms for the same total time (RESULTS-query-cost.md).
 */
export const DEFAULT_CHUNK_BUCKETS = 2_000;

/** A series to read, with the event time of its latest call when known (buckets after it cannot exist). */
export type TotalsSeries = SeriesId & { lastSeen?: number };

export interface TotalsOptions {
  /** Epoch ms the plans were made at. */
  now: number;
  cfg: WindowConfig;
  /**
   * Merged settled days and hours of this series set (see SettledDayCache's rule); omitted = every
   * bucket is read from the store.
   */
  cache?: SettledDayCache | null;
  /** Most bucket reads per store call before the reader yields to the event loop. Default DEFAULT_CHUNK_BUCKETS (2 000). */
  chunkBuckets?: number;
  /** Stops the read between steps (rejects with the signal's reason); nothing partial is cached. */
  signal?: AbortSignal;
}

/** Series per synchronous step of the key digest (and of other per-series passes) before an event-loop turn. */
export const SERIES_STEP = 1_000;

/** Upper bound of the bucket reads of readTotals: series × distinct buckets of the plans (before any cache). */
export function bucketReads(seriesCount: number, plans: readonly RangePlan[]): number {
  const seen = new Set<string>();
  for (const p of plans) for (const piece of p.pieces) seen.add(`${piece.resolution}${piece.start}`);
  return seriesCount * seen.size;
}

/** A piece of a plan served as one unit: a bucket, or (cacheable) a settled day or hour merged over the set. */
interface Unit {
  id: string;
  resolution: Resolution;
  start: number;
  /** Hour starts (cached units) or the one bucket start, all of `resolution`. */
  starts: number[];
  cacheable: boolean;
  acc: BucketData | null;
}

/** One read step of readTotals: some series over some starts of one resolution, and the units each start feeds. */
interface Step {
  resolution: Resolution;
  series: TotalsSeries[];
  starts: number[];
  feeds: Map<number, Unit[]>;
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Reads several ranges for a set of series and returns, per range, the merged bucket of every
 * series (the sum a metrics or timeseries answer needs). Work is bounded per step: series × bucket
 * starts are read `chunkBuckets` at a time, each chunk decoded and merged before the next, with
 * the event loop given a turn in between, so memory holds one chunk plus one accumulator per range
 * and per cacheable unit. Buckets starting after a series' lastSeen are not read (none can exist).
 * With a cache, settled whole days and settled hours come merged over the set (keyed by the set's
 * series, validated by the connector's generation as SettledDayCache describes), filled on a miss.
 */
export async function readTotals(store: WindowStore, tenant: string, connector: string, series: readonly TotalsSeries[], plans: readonly RangePlan[], opts: TotalsOptions): Promise<BucketData[]> {
  if (series.length === 0) return plans.map(() => emptyBucket());
  const cache = opts.cache ?? null;
  const before = SettledDayCache.cacheableBefore(opts.now);
  const alive = (hourStart: number): boolean => hourStart + HOUR_MS + opts.cfg.hourRetentionMs > opts.now;
  const units = new Map<string, Unit>();
  // Per range, its units in piece order.
  const planUnits: Unit[][] = plans.map(() => []);
  const unitOf = (id: string, resolution: Resolution, start: number, starts: number[], cacheable: boolean, pi: number): void => {
    let u = units.get(id);
    if (u === undefined) units.set(id, (u = { id, resolution, start, starts, cacheable, acc: null }));
    planUnits[pi]!.push(u);
  };
  plans.forEach((p, pi) => {
    const { pieces } = p;
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      const settledHour = cache !== null && piece.resolution === 'h' && piece.start + HOUR_MS <= before;
      if (settledHour && piece.start % DAY_MS === 0 && piece.start + DAY_MS <= before && alive(piece.start) && i + 24 <= pieces.length && pieces[i + 23]!.resolution === 'h' && pieces[i + 23]!.start === piece.start + 23 * HOUR_MS) {
        unitOf(`d${piece.start}`, 'h', piece.start, Array.from({ length: 24 }, (_, h) => piece.start + h * HOUR_MS), true, pi);
        i += 23;
      } else if (settledHour && alive(piece.start)) unitOf(`H${piece.start}`, 'h', piece.start, [piece.start], true, pi);
      else unitOf(`${piece.resolution}${piece.start}`, piece.resolution, piece.start, [piece.start], false, pi);
    }
  });

  let generation = 0;
  let setKey = '';
  const toRead: Unit[] = [];
  const cached = [...units.values()].filter((u) => u.cacheable);
  if (cached.length > 0) {
    // Read before the buckets: a write landing in between bumps it past what the entries record.
    generation = await store.generation(tenant, connector);
    setKey = await seriesSetKey(tenant, connector, series);
    for (const u of cached) {
      const hit = cache!.get(`${setKey}\u0000${u.id}`, generation);
      if (hit !== undefined) u.acc = hit;
    }
  }
  for (const u of units.values()) if (u.acc === null) toRead.push(u);

  // The reads, ≤ chunkBuckets each: per resolution, a run of series over all its starts (or one
  // series over a run of starts), planned one step ahead of its read rather than all up front (at
  // 5 000 series × 721 hours that plan alone was tens of ms of one synchronous step).
  const chunk = Math.max(1, opts.chunkBuckets ?? DEFAULT_CHUNK_BUCKETS);
  function* plan(): Generator<Step> {
    for (const resolution of ['h', 'm'] as const) {
      // A start may feed several units (an hour of a cached day for one range, a lone hour for another).
      const feeds = new Map<number, Unit[]>();
      for (const u of toRead) if (u.resolution === resolution) for (const s of u.starts) (feeds.get(s) ?? feeds.set(s, []).get(s)!).push(u);
      if (feeds.size === 0) continue;
      const starts = [...feeds.keys()].sort((a, b) => a - b);
      const perSeries = Math.max(1, Math.floor(chunk / starts.length));
      for (let si = 0; si < series.length; si += perSeries) {
        const group = series.slice(si, si + perSeries);
        for (let ti = 0; ti < starts.length; ti += chunk) {
          const part = starts.slice(ti, ti + chunk);
          // Only series, and starts, that can have a bucket: at or before a series' lastSeen.
          const live = group.filter((s) => s.lastSeen === undefined || s.lastSeen >= part[0]!);
          if (live.length === 0) continue;
          const newest = live.reduce((m, s) => Math.max(m, s.lastSeen ?? Infinity), -Infinity);
          yield { resolution, series: live, starts: newest === Infinity ? part : part.filter((t) => t <= newest), feeds };
        }
      }
    }
  }
  const steps = plan();
  // One read in flight ahead of the merge (Redis works while this process decodes), the event
  // loop given a turn after every step.
  const read = (): { step: Step; grid: Promise<BucketGrid> } | null => {
    const next = steps.next();
    if (next.done === true) return null;
    const step = next.value;
    return { step, grid: store.readBuckets(tenant, connector, step.resolution, step.series, step.starts) };
  };
  for (let next = read(); next !== null; ) {
    const { step, grid: pending } = next;
    const grid = await pending;
    if (opts.signal?.aborted === true) opts.signal.throwIfAborted();
    next = read();
    const { series: stepSeries, starts, feeds } = step;
    // The accumulators each start feeds (an empty one merged with nothing stays empty, as none).
    const into = starts.map((t) => feeds.get(t)!.map((u) => (u.acc ??= emptyBucket())));
    for (let i = 0; i < stepSeries.length; i++) for (let j = 0; j < starts.length; j++) grid.mergeInto(i, j, into[j]!);
    await yieldToLoop();
  }
  for (const u of toRead) {
    if (u.acc === null) u.acc = emptyBucket();
    if (u.cacheable) cache!.set(`${setKey}\u0000${u.id}`, generation, u.acc);
  }
  // In piece order per range, as merging bucket by bucket would.
  return planUnits.map((list) => {
    const acc = emptyBucket();
    for (const u of list) mergeBucket(acc, u.acc!);
    return acc;
  });
}

/**
 * Cache key of a series set of a connector: the tag and a digest of its sorted series fields. The
 * fields are built and hashed SERIES_STEP at a time with event-loop turns in between (the sort, of
 * short strings, is one step: a few ms at 10 000 series).
 */
export async function seriesSetKey(tenant: string, connector: string, series: readonly SeriesId[]): Promise<string> {
  const fields: string[] = [];
  for (let i = 0; i < series.length; i += SERIES_STEP) {
    if (i > 0) await yieldToLoop();
    for (const s of series.slice(i, i + SERIES_STEP)) fields.push(seriesField(s));
  }
  fields.sort();
  const h = createHash('sha1');
  for (let i = 0; i < fields.length; i += SERIES_STEP) {
    if (i > 0) await yieldToLoop();
    for (let j = i; j < Math.min(fields.length, i + SERIES_STEP); j++) h.update(fields[j]!).update('\u0000');
  }
  return `${connectorTag(tenant, connector)}\u0000${h.digest('base64')}`;
}

import { UNMAPPED, type WindowMetrics } from '@pulsegate/events';
import { emptyBucket, mergeBucket, type BucketData } from './bucket';
import type { WindowConfig } from './config';
import { DAY_MS, SettledDayCache } from './day-cache';
import { connectorTag, HOUR_MS, MINUTE_MS, seriesField, type Resolution, type SeriesId } from './keys';
import { quantileOfBuckets } from './sketch';
import type { BucketGrid, WindowStore } from './store';

/** One bucket a range read needs. */
export interface RangePiece {
  resolution: Resolution;
  start: number;
}

/** The buckets covering [from, to), with the bounds actually covered. */
export interface RangePlan {
  from: number;
  to: number;
  pieces: RangePiece[];
}

/**
 * Plans a read of [from, to): whole hours from hour buckets, the rest from minute buckets. Bounds
 * are rounded out to minutes; a bound older than the minute retention is rounded out to the hour,
 * because only hour buckets exist there. The plan's from/to are what the answer really covers.
 */
export function planRange(from: number, to: number, now: number, cfg: WindowConfig): RangePlan {
  let f = Math.floor(from / MINUTE_MS) * MINUTE_MS;
  let t = Math.ceil(to / MINUTE_MS) * MINUTE_MS;
  // Oldest minute bucket certain to exist: its start + 1 min + retention is still in the future.
  const minuteFloor = Math.ceil((now - cfg.minuteRetentionMs) / MINUTE_MS) * MINUTE_MS;
  if (f < minuteFloor) f = Math.floor(f / HOUR_MS) * HOUR_MS;
  if (t < minuteFloor) t = Math.ceil(t / HOUR_MS) * HOUR_MS;
  const pieces: RangePiece[] = [];
  let x = f;
  while (x < t) {
    // Before the minute floor only whole hours exist (x is then hour-aligned): the range grows to
    // the end of that hour rather than silently missing its expired minutes.
    if (x < minuteFloor || (x % HOUR_MS === 0 && x + HOUR_MS <= t)) {
      pieces.push({ resolution: 'h', start: x });
      x += HOUR_MS;
    } else {
      pieces.push({ resolution: 'm', start: x });
      x += MINUTE_MS;
    }
  }
  t = Math.max(t, x);
  return { from: f, to: t, pieces };
}

/** Which series of a connector a read covers; omitted fields match everything. */
export interface SeriesFilter {
  action?: string;
  version?: string;
  kind?: 'read' | 'write';
}

export function matches(s: SeriesId, f: SeriesFilter): boolean {
  return (f.action === undefined || s.action === f.action) && (f.version === undefined || s.version === f.version) && (f.kind === undefined || s.kind === f.kind);
}

/** Optional cache of merged settled days for readRanges. */
export interface ReadCache {
  cache: SettledDayCache;
  /** Epoch ms the plans were made at. */
  now: number;
  cfg: WindowConfig;
}

/**
 * Reads the pieces of several ranges for some series and returns, per range and per series, the
 * merged bucket. Each distinct bucket is fetched once (one MGET per resolution and chunk). With a
 * cache, whole settled UTC days inside a range come from it (see SettledDayCache), filled on a miss.
 */
export async function readRanges(store: WindowStore, tenant: string, connector: string, series: readonly SeriesId[], plans: readonly RangePlan[], cached?: ReadCache): Promise<BucketData[][]> {
  // Days each plan takes from the cache: every hour of the day is a piece of the plan, the day is
  // settled, and its oldest hour bucket has not expired yet.
  const daysOf: Array<Set<number>> = plans.map(() => new Set());
  if (cached !== undefined && series.length > 0) {
    const before = SettledDayCache.cacheableBefore(cached.now);
    plans.forEach((p, pi) => {
      let run = 0;
      let prev = NaN;
      for (const piece of p.pieces) {
        if (piece.resolution !== 'h') continue;
        run = piece.start === prev + HOUR_MS ? run + 1 : 1;
        prev = piece.start;
        const day = piece.start - 23 * HOUR_MS;
        if (run >= 24 && day % DAY_MS === 0 && day + DAY_MS <= before && day + HOUR_MS + cached.cfg.hourRetentionMs > cached.now) daysOf[pi]!.add(day);
      }
    });
  }
  const allDays = new Set<number>();
  for (const d of daysOf) for (const day of d) allDays.add(day);
  const dayData = new Map<number, BucketData[]>();
  const missingDays: number[] = [];
  if (allDays.size > 0) {
    // Read before the buckets: a write landing in between bumps it past what the entries record.
    const generation = await store.generation(tenant, connector);
    const tag = connectorTag(tenant, connector);
    const keyOf = (s: SeriesId, day: number): string => `${tag}\u0000${seriesField(s)}\u0000${day}`;
    for (const day of allDays) {
      const got = series.map((s) => cached!.cache.get(keyOf(s, day), generation));
      if (got.every((b): b is BucketData => b !== undefined)) dayData.set(day, got);
      else missingDays.push(day);
    }
    if (missingDays.length > 0) {
      const starts = missingDays.flatMap((day) => Array.from({ length: 24 }, (_, h) => day + h * HOUR_MS));
      const grid = await store.readBuckets(tenant, connector, 'h', series, starts);
      missingDays.forEach((day, di) => {
        const merged = series.map((s, si) => {
          // SettledDayCache.mergeDay of the day's 24 hours, each decoded straight into the day.
          const b = emptyBucket();
          const into = [b];
          for (let h = 0; h < 24; h++) grid.mergeInto(si, di * 24 + h, into);
          cached!.cache.set(keyOf(s, day), generation, b);
          return b;
        });
        dayData.set(day, merged);
      });
    }
  }
  const inDay = (pi: number, piece: RangePiece): boolean => piece.resolution === 'h' && daysOf[pi]!.has(Math.floor(piece.start / DAY_MS) * DAY_MS);

  const starts: Record<Resolution, number[]> = { m: [], h: [] };
  const seen = new Set<string>();
  plans.forEach((p, pi) => {
    for (const piece of p.pieces) {
      if (inDay(pi, piece)) continue;
      const id = `${piece.resolution}${piece.start}`;
      if (!seen.has(id)) {
        seen.add(id);
        starts[piece.resolution].push(piece.start);
      }
    }
  });
  // Per resolution, the grid read and each start's column in it; buckets are decoded as they are
  // merged into a series' total (WindowStore.readBuckets), never kept one by one.
  const fetched: Partial<Record<Resolution, { grid: BucketGrid; column: Map<number, number> }>> = {};
  for (const res of ['m', 'h'] as const) {
    if (starts[res].length === 0 || series.length === 0) continue;
    const grid = await store.readBuckets(tenant, connector, res, series, starts[res]);
    fetched[res] = { grid, column: new Map(starts[res].map((start, j) => [start, j])) };
  }
  return plans.map((p, pi) =>
    series.map((_, si) => {
      const acc = emptyBucket();
      const into = [acc];
      // In piece order, a cached day standing at its first hour, as reading hour by hour would.
      for (const piece of p.pieces) {
        if (inDay(pi, piece)) {
          if (piece.start % DAY_MS === 0) mergeBucket(acc, dayData.get(piece.start)![si]!);
          continue;
        }
        const read = fetched[piece.resolution];
        const j = read?.column.get(piece.start);
        if (j !== undefined) read!.grid.mergeInto(si, j, into);
      }
      return acc;
    }),
  );
}

/** Merges buckets into one. */
export function mergeAll(buckets: Iterable<BucketData>): BucketData {
  const acc = emptyBucket();
  for (const b of buckets) mergeBucket(acc, b);
  return acc;
}

const ratio = (n: number, d: number): number | null => (d > 0 ? Math.min(1, Math.max(0, n / d)) : null);

/**
 * The metric set of a merged bucket (formulas in services/aggregator/README.md):
 * successRate = successes / calls, throttleRate = throttled / calls,
 * errorMappingCoverage = (error calls − UNMAPPED) / error calls, latency quantiles from the sketch.
 */
export function metricsOf(b: BucketData, window: string, from: number, to: number): WindowMetrics {
  let errors = 0;
  for (const code in b.e) errors += b.e[code]!;
  const unmapped = b.e[UNMAPPED] ?? 0;
  return {
    window,
    from,
    to,
    calls: b.c,
    successes: b.s,
    successRate: ratio(b.s, b.c),
    throttled: b.t,
    throttleRate: ratio(b.t, b.c),
    latencyMs: { p50: quantileOfBuckets(b.l, 0.5), p95: quantileOfBuckets(b.l, 0.95), p99: quantileOfBuckets(b.l, 0.99) },
    errorCodes: { ...b.e },
    errorMappingCoverage: ratio(errors - unmapped, errors),
  };
}

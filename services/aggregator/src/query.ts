import { coerceSemver, compareSemver, type CatalogEvent, type SemVer, type WindowMetrics } from '@pulsegate/events';
import {
  HOUR_MS,
  MINUTE_MS,
  matches,
  metricsOf,
  planRange,
  readRanges,
  readTotals,
  bucketReads,
  DEFAULT_CHUNK_BUCKETS,
  SettledDayCache,
  type BucketData,
  type RangePlan,
  type ReadCache,
  type SeriesFilter,
  type SeriesInfo,
  type WindowConfig,
  type WindowStore,
} from '@pulsegate/windows';

/** Named windows the API accepts, in ms. */
export const WINDOWS: Readonly<Record<string, number>> = {
  '1m': MINUTE_MS,
  '5m': 5 * MINUTE_MS,
  '15m': 15 * MINUTE_MS,
  '1h': HOUR_MS,
  '6h': 6 * HOUR_MS,
  '24h': 24 * HOUR_MS,
  '7d': 7 * 24 * HOUR_MS,
  '30d': 30 * 24 * HOUR_MS,
};

/** Steps the timeseries endpoint accepts, in ms. */
export const STEPS: Readonly<Record<string, number>> = { '1m': MINUTE_MS, '5m': 5 * MINUTE_MS, '15m': 15 * MINUTE_MS, '1h': HOUR_MS, '6h': 6 * HOUR_MS, '24h': 24 * HOUR_MS };

/** Bounds of one query request (QUERY_* variables). */
export interface QueryLimits {
  /** Most series one query (or, for /v1/connectors, one connector of it) may select. Default 10 000. */
  maxSeries: number;
  /** Most bucket reads (series × distinct buckets of the range, before any cache) one request may need. Default 4 000 000. */
  maxBucketReads: number;
  /** Bucket reads per store call and per synchronous decode-and-merge step, between event-loop turns. Default 2 000. */
  chunkBuckets: number;
}

export const DEFAULT_QUERY_LIMITS: Readonly<QueryLimits> = { maxSeries: 10_000, maxBucketReads: 4_000_000, chunkBuckets: DEFAULT_CHUNK_BUCKETS };

/** A query over its limits (QueryLimits); answered 422 with the message. */
export class QueryTooLarge extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryTooLarge';
  }
}

/** `run`'s answer, or null when it is over the query limits (internal readers skip such a connector instead of failing a whole round). */
export async function unlessTooLarge<T>(run: Promise<T>): Promise<T | null> {
  try {
    return await run;
  } catch (err) {
    if (err instanceof QueryTooLarge) return null;
    throw err;
  }
}

/** What one request may still read; shared by the connector queries of /v1/connectors. */
export class QueryBudget {
  private used = 0;
  constructor(private readonly limits: QueryLimits) {}

  /** Takes `series` over `plans` from the budget, or throws QueryTooLarge naming the numbers. */
  take(series: number, plans: readonly RangePlan[], what: string): void {
    if (series > this.limits.maxSeries) throw new QueryTooLarge(`${what} selects ${series} series; at most ${this.limits.maxSeries} (QUERY_MAX_SERIES): filter by action, version or kind`);
    const reads = bucketReads(series, plans);
    if (this.used + reads > this.limits.maxBucketReads) {
      throw new QueryTooLarge(`${what} needs ${this.used + reads} bucket reads (series × buckets of the range); at most ${this.limits.maxBucketReads} (QUERY_MAX_BUCKET_READS): filter by action, version or kind, use a shorter window or a larger step${this.used > 0 ? ', or fewer connectors (limit)' : ''}`);
    }
    this.used += reads;
  }
}

/** Most points one timeseries answer holds. */
export const MAX_POINTS = 1_440;

export const TIMESERIES_METRICS = ['calls', 'successes', 'successRate', 'throttled', 'throttleRate', 'errors', 'errorMappingCoverage', 'p50', 'p95', 'p99'] as const;
export type TimeseriesMetric = (typeof TIMESERIES_METRICS)[number];

/** A resolved time range: [from, to) in epoch ms and the name it is reported under. */
export interface TimeRange {
  name: string;
  from: number;
  to: number;
}

/** Windows at least this long are whole hours (HOUR_GRAIN_WINDOW_MS: 7d and 30d). */
export const HOUR_GRAIN_WINDOW_MS = 7 * 24 * HOUR_MS;

/**
 * The range of a named window ending now: with the current minute, or for windows of 7 days and
 * more (or when `grainMs` says so, e.g. timeseries steps of whole hours) with the current hour,
 * so that they are read from hour buckets alone (settled hours cached, see readTotals).
 */
export function namedRange(name: string, now: number, grainMs?: number): TimeRange {
  const span = WINDOWS[name];
  if (span === undefined) throw new Error(`unknown window ${name}`);
  const grain = grainMs ?? (span >= HOUR_GRAIN_WINDOW_MS ? HOUR_MS : MINUTE_MS);
  const to = Math.floor(now / grain) * grain + grain;
  return { name, from: to - span, to };
}

/** Metrics of a connector (optionally one action / version / kind) over a window. */
export interface ConnectorMetrics extends WindowMetrics {
  connector: string;
  action: string | null;
  version: string | null;
  kind: 'read' | 'write' | null;
  /** throttled calls per hour of the window */
  throttledPerHour: number;
}

/** Answer of GET /v1/connectors/{connector}/actions. */
export interface ConnectorActions {
  connector: string;
  /** Sorted by action; kinds and versions sorted. */
  actions: Array<{ action: string; kinds: Array<'read' | 'write'>; versions: string[] }>;
}

export class MetricsQueries {
  /**
   * Settled days and hours merged over a query's series set (see readTotals) and, for per-series
   * reads, merged settled days per series (readRanges): long windows read only recent buckets. Null when off.
   */
  readonly dayCache: SettledDayCache | null;
  readonly limits: QueryLimits;
  /** Cache warm-ups in progress (see warm), by connector: a query of the same connector joins it. */
  private readonly warming = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: WindowStore,
    private readonly cfg: WindowConfig,
    private readonly clock: () => number,
    dayCacheEntries?: number,
    limits: Partial<QueryLimits> = {},
  ) {
    this.dayCache = dayCacheEntries === 0 ? null : new SettledDayCache(dayCacheEntries === undefined ? {} : { maxEntries: dayCacheEntries });
    this.limits = { ...DEFAULT_QUERY_LIMITS, ...limits };
  }

  /** A fresh budget for one request. */
  budget(): QueryBudget {
    return new QueryBudget(this.limits);
  }

  /** Per range, the merged bucket of `series` (bounded: budget taken first, read in chunks). */
  private async totals(tenant: string, connector: string, series: SeriesInfo[], plans: RangePlan[], now: number, budget: QueryBudget, what: string, mode: ReadMode): Promise<BucketData[]> {
    budget.take(series.length, plans, what);
    return this.readTotals(tenant, connector, series, plans, now, mode);
  }

  /** readTotals with this instance's cache and limits; when joining, after any warm-up of the connector in progress (whose reads it then finds cached). */
  private async readTotals(tenant: string, connector: string, series: SeriesInfo[], plans: RangePlan[], now: number, mode: ReadMode): Promise<BucketData[]> {
    const warming = mode.join ? this.warming.get(warmKey(tenant, connector)) : undefined;
    if (warming !== undefined) await warming.catch(() => undefined);
    return readTotals(this.store, tenant, connector, series, plans, { now, cfg: this.cfg, cache: this.dayCache, chunkBuckets: this.limits.chunkBuckets, signal: mode.signal });
  }

  /**
   * Fills the cache with what the 30-day metrics of all the connector's series read (settled days
   * and hours merged over the set; a 7-day window of all series shares its whole days and recent
   * hours); unfiltered queries of the connector arriving meanwhile wait for it instead of reading
   * the same buckets cold (filtered ones are other series sets: they do not wait). Within the
   * query limits (over them: nothing read, false). Rejects with the signal's reason when aborted.
   */
  async warm(tenant: string, connector: string, signal?: AbortSignal): Promise<boolean> {
    const key = warmKey(tenant, connector);
    const running = this.warming.get(key);
    if (running !== undefined) return (await running) !== null;
    const run = unlessTooLarge(this.metricsOf(tenant, connector, {}, namedRange('30d', this.clock()), this.budget(), { join: false, signal }));
    this.warming.set(key, run);
    try {
      return (await run) !== null;
    } finally {
      this.warming.delete(key);
    }
  }

  /** Connectors being warmed now. */
  get warmingNow(): number {
    return this.warming.size;
  }

  now(): number {
    return this.clock();
  }

  private readCache(now: number): ReadCache | undefined {
    return this.dayCache === null ? undefined : { cache: this.dayCache, now, cfg: this.cfg };
  }

  /** Series of a connector matching a filter; null when the tenant has never seen the connector. */
  async series(tenant: string, connector: string, filter: SeriesFilter = {}): Promise<SeriesInfo[] | null> {
    const all = await this.store.listSeries(tenant, connector);
    if (all.length === 0) return null;
    return all.filter((s) => matches(s, filter));
  }

  async metrics(tenant: string, connector: string, filter: SeriesFilter, range: TimeRange, budget = this.budget()): Promise<ConnectorMetrics | null> {
    return this.metricsOf(tenant, connector, filter, range, budget, { join: unfiltered(filter) });
  }

  /** metrics, read as `mode` says (a warm-up: not joining itself, stoppable by its signal). */
  private async metricsOf(tenant: string, connector: string, filter: SeriesFilter, range: TimeRange, budget: QueryBudget, mode: ReadMode): Promise<ConnectorMetrics | null> {
    const series = await this.series(tenant, connector, filter);
    if (series === null) return null;
    const now = this.clock();
    const plan = planRange(range.from, range.to, now, this.cfg);
    const [total] = await this.totals(tenant, connector, series, [plan], now, budget, `a ${range.name} query of connector "${connector.slice(0, 64)}"`, mode);
    const m = metricsOf(total!, range.name, plan.from, plan.to);
    return {
      connector,
      action: filter.action ?? null,
      version: filter.version ?? null,
      kind: filter.kind ?? null,
      ...m,
      throttledPerHour: (m.throttled * HOUR_MS) / (plan.to - plan.from),
    };
  }

  /** Per-series buckets merged over several ranges in one read. */
  async seriesRanges(tenant: string, connector: string, series: SeriesInfo[], ranges: TimeRange[]): Promise<Array<{ plan: { from: number; to: number }; buckets: BucketData[] }>> {
    const now = this.clock();
    const plans = ranges.map((r) => planRange(r.from, r.to, now, this.cfg));
    // Series a chunk at a time, yielding in between, so no one step reads more than chunkBuckets buckets.
    const perChunk = Math.max(1, Math.floor(this.limits.chunkBuckets / Math.max(1, bucketReads(1, plans))));
    const merged: BucketData[][] = plans.map(() => []);
    for (let i = 0; i < series.length; i += perChunk) {
      if (i > 0) await new Promise((r) => setImmediate(r));
      const part = await readRanges(this.store, tenant, connector, series.slice(i, i + perChunk), plans, this.readCache(now));
      part.forEach((buckets, pi) => {
        for (const b of buckets) merged[pi]!.push(b);
      });
    }
    return plans.map((p, i) => ({ plan: { from: p.from, to: p.to }, buckets: merged[i]! }));
  }

  /**
   * The actions of a connector with the kinds and versions they were called with (every series the
   * store holds, no window): what a dashboard offers to drill down into. Null for an unknown connector.
   */
  async actions(tenant: string, connector: string): Promise<ConnectorActions | null> {
    const series = await this.series(tenant, connector);
    if (series === null) return null;
    const byAction = new Map<string, { kinds: Set<string>; versions: Set<string> }>();
    for (const s of series) {
      let a = byAction.get(s.action);
      if (a === undefined) byAction.set(s.action, (a = { kinds: new Set(), versions: new Set() }));
      a.kinds.add(s.kind);
      a.versions.add(s.version);
    }
    const sorted = <T extends string>(set: Set<T>): T[] => [...set].sort();
    return {
      connector,
      actions: [...byAction.keys()].sort().map((action) => ({ action, kinds: sorted(byAction.get(action)!.kinds) as Array<'read' | 'write'>, versions: sorted(byAction.get(action)!.versions) })),
    };
  }

  /** seriesRanges within a request budget: QueryTooLarge before reading when `series` over `ranges` is over the limits. */
  async boundedSeriesRanges(tenant: string, connector: string, series: SeriesInfo[], ranges: TimeRange[], what: string, budget = this.budget()): ReturnType<MetricsQueries['seriesRanges']> {
    const now = this.clock();
    budget.take(
      series.length,
      ranges.map((r) => planRange(r.from, r.to, now, this.cfg)),
      what,
    );
    return this.seriesRanges(tenant, connector, series, ranges);
  }

  async versions(tenant: string, connector: string, range: TimeRange, budget = this.budget()): Promise<VersionAdoption | null> {
    const series = await this.series(tenant, connector);
    if (series === null) return null;
    const now = this.clock();
    const plan = planRange(range.from, range.to, now, this.cfg);
    budget.take(series.length, [plan], `a ${range.name} versions query of connector "${connector.slice(0, 64)}"`);
    const byVersion = new Map<string, SeriesInfo[]>();
    for (const s of series) (byVersion.get(s.version) ?? byVersion.set(s.version, []).get(s.version)!).push(s);
    // One bounded read per version's series set (each is its own cacheable set).
    const calls = new Map<string, number>();
    for (const [version, list] of byVersion) {
      const [total] = await this.readTotals(tenant, connector, list, [plan], now, { join: false });
      calls.set(version, total!.c);
    }
    const catalog = await this.store.getCatalog(tenant, connector);
    return adoption(connector, range.name, plan, calls, series.map((s) => s.version), catalog, now);
  }

  async timeseries(tenant: string, connector: string, filter: SeriesFilter, metric: TimeseriesMetric, step: { name: string; ms: number }, range: TimeRange, budget = this.budget()): Promise<TimeseriesAnswer | null> {
    const series = await this.series(tenant, connector, filter);
    if (series === null) return null;
    const now = this.clock();
    const n = Math.ceil((range.to - range.from) / step.ms);
    const plans: RangePlan[] = [];
    for (let i = n; i > 0; i--) plans.push(planRange(range.to - i * step.ms, range.to - (i - 1) * step.ms, now, this.cfg));
    const totals = await this.totals(tenant, connector, series, plans, now, budget, `a ${range.name}/${step.name} timeseries of connector "${connector.slice(0, 64)}"`, { join: unfiltered(filter) });
    const points = plans.map((p, i) => {
      const m = metricsOf(totals[i]!, step.name, p.from, p.to);
      return { from: p.from, to: p.to, value: pick(m, metric) };
    });
    return { connector, action: filter.action ?? null, version: filter.version ?? null, kind: filter.kind ?? null, metric, step: step.name, window: range.name, from: points[0]?.from ?? range.from, to: range.to, points };
  }

  /**
   * Connectors of a tenant with calls in the range, with headline numbers, in name order: at most
   * `limit` connectors with traffic after `after`; `next` names the last one when more may follow.
   */
  async connectors(tenant: string, range: TimeRange, page: { limit?: number; after?: string } = {}, budget = this.budget()): Promise<{ connectors: ConnectorSummary[]; next: string | null }> {
    const all = await this.store.listConnectors(tenant);
    const limit = page.limit ?? Infinity;
    const out: ConnectorSummary[] = [];
    // The index keeps minute-truncated times: anything newer than a minute before `from` may have traffic.
    const candidates = all.filter((x) => x.lastSeen >= range.from - MINUTE_MS && (page.after === undefined || x.connector > page.after)).sort((a, b) => (a.connector < b.connector ? -1 : 1));
    for (const [i, c] of candidates.entries()) {
      if (out.length === limit) return { connectors: out, next: candidates[i - 1]!.connector };
      const m = await this.metrics(tenant, c.connector, {}, range, budget);
      if (m === null || m.calls === 0) continue;
      const dropped = await this.store.dropped(tenant, c.connector);
      out.push({ connector: c.connector, lastSeen: c.lastSeen, calls: m.calls, successRate: m.successRate, throttleRate: m.throttleRate, p95LatencyMs: m.latencyMs.p95, errorMappingCoverage: m.errorMappingCoverage, dropped });
    }
    return { connectors: out, next: null };
  }

  /** Series (and whole connectors) of a tenant with no calls in `days` days. */
  async stale(tenant: string, days: number): Promise<StaleAnswer> {
    const now = this.clock();
    const cutoff = now - days * 86_400_000;
    const series: StaleAnswer['series'] = [];
    const connectors: StaleAnswer['connectors'] = [];
    for (const c of (await this.store.listConnectors(tenant)).sort((a, b) => (a.connector < b.connector ? -1 : 1))) {
      const ss = await this.store.listSeries(tenant, c.connector);
      let newest = -Infinity;
      for (const s of ss) {
        newest = Math.max(newest, s.lastSeen);
        if (s.lastSeen < cutoff) series.push({ connector: c.connector, action: s.action, version: s.version, kind: s.kind, lastSeen: s.lastSeen, idleDays: Math.floor((now - s.lastSeen) / 86_400_000) });
      }
      if (ss.length > 0 && newest < cutoff) connectors.push({ connector: c.connector, lastSeen: newest, idleDays: Math.floor((now - newest) / 86_400_000) });
    }
    return { days, asOf: now, connectors, series };
  }
}

const warmKey = (tenant: string, connector: string): string => `${tenant}\u0000${connector}`;

/** How a query reads: whether it waits for a warm-up of its connector in progress (the same series set), and what stops it. */
interface ReadMode {
  join: boolean;
  signal?: AbortSignal;
}

const unfiltered = (f: SeriesFilter): boolean => f.action === undefined && f.version === undefined && f.kind === undefined;

function pick(m: WindowMetrics, metric: TimeseriesMetric): number | null {
  switch (metric) {
    case 'p50':
    case 'p95':
    case 'p99':
      return m.latencyMs[metric];
    case 'errors':
      return Object.values(m.errorCodes).reduce((a, b) => a + b, 0);
    default:
      return m[metric];
  }
}

export interface TimeseriesAnswer {
  connector: string;
  action: string | null;
  version: string | null;
  kind: 'read' | 'write' | null;
  metric: TimeseriesMetric;
  step: string;
  window: string;
  from: number;
  to: number;
  points: Array<{ from: number; to: number; value: number | null }>;
}

export interface ConnectorSummary {
  connector: string;
  lastSeen: number;
  calls: number;
  successRate: number | null;
  throttleRate: number | null;
  p95LatencyMs: number | null;
  errorMappingCoverage: number | null;
  /** Weighted calls dropped as late or future; duplicates: spans not counted again (retried exports). */
  dropped: { late: number; future: number; duplicates: number };
}

export interface StaleAnswer {
  days: number;
  asOf: number;
  connectors: Array<{ connector: string; lastSeen: number; idleDays: number }>;
  series: Array<{ connector: string; action: string; version: string; kind: 'read' | 'write'; lastSeen: number; idleDays: number }>;
}

export interface VersionAdoption {
  connector: string;
  window: string;
  from: number;
  to: number;
  /** Highest released version: from the catalog when registered, else the highest seen. */
  latest: string | null;
  latestSource: 'catalog' | 'observed' | null;
  /** Earliest catalog release time of the latest minor, epoch ms; null when unknown. */
  latestMinorReleasedAt: number | null;
  /** Per version; sunsetAt from the catalog (epoch ms), daysToSunset = whole days until it, rounded up (≤ 0: past sunset). */
  versions: Array<{ version: string; calls: number; share: number; deprecated: boolean; deprecatedAt: number | null; sunsetAt: number | null; daysToSunset: number | null }>;
  /** Calls on latest.major.latest.minor (any patch) / calls; null when calls = 0. */
  latestMinorShare: number | null;
  /** Calls on versions marked deprecated in the catalog / calls; null when calls = 0. */
  deprecatedShare: number | null;
}

/** Highest version by SemVer precedence; prereleases only count when nothing else is there. */
function highest(versions: string[]): SemVer | null {
  const parsed = versions.map(coerceSemver).filter((v): v is SemVer => v !== null);
  const releases = parsed.filter((v) => v.prerelease.length === 0);
  const pool = releases.length > 0 ? releases : parsed;
  return pool.reduce<SemVer | null>((best, v) => (best === null || compareSemver(v, best) > 0 ? v : best), null);
}

const DAY_MS = 86_400_000;

/** Version adoption from calls per version and the catalog (formulas in the README). */
export function adoption(connector: string, window: string, plan: { from: number; to: number }, calls: Map<string, number>, seen: string[], catalog: CatalogEvent | null, now: number): VersionAdoption {
  const released = catalog?.versions.filter((v) => v.releasedAt === null || v.releasedAt <= now) ?? [];
  const fromCatalog = released.length > 0 ? highest(released.map((v) => v.version)) : null;
  const latest = fromCatalog ?? highest(seen);
  const deprecatedAt = new Map<string, number>();
  const sunsetAt = new Map<string, number>();
  for (const v of catalog?.versions ?? []) {
    if (v.deprecatedAt !== null) deprecatedAt.set(v.version, v.deprecatedAt);
    if (v.sunsetAt !== null) sunsetAt.set(v.version, v.sunsetAt);
  }
  const lookup = (times: Map<string, number>, version: string): number | null => {
    const direct = times.get(version);
    if (direct !== undefined) return direct;
    // Telemetry may say "1.2" for catalog "1.2.0": compare by precedence too.
    const sv = coerceSemver(version);
    if (sv === null) return null;
    for (const [v, at] of times) {
      const cv = coerceSemver(v);
      if (cv !== null && compareSemver(cv, sv) === 0) return at;
    }
    return null;
  };
  let total = 0;
  for (const c of calls.values()) total += c;
  let latestMinor = 0;
  let deprecated = 0;
  const versions = [...calls]
    .filter(([, c]) => c > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([version, c]) => {
      const sv = coerceSemver(version);
      if (latest !== null && sv !== null && sv.major === latest.major && sv.minor === latest.minor) latestMinor += c;
      const dAt = lookup(deprecatedAt, version);
      if (dAt !== null) deprecated += c;
      const sAt = lookup(sunsetAt, version);
      return { version, calls: c, share: c / total, deprecated: dAt !== null, deprecatedAt: dAt, sunsetAt: sAt, daysToSunset: sAt === null ? null : Math.ceil((sAt - now) / DAY_MS) };
    });
  let latestMinorReleasedAt: number | null = null;
  if (latest !== null) {
    for (const v of released) {
      const sv = coerceSemver(v.version);
      if (sv !== null && sv.major === latest.major && sv.minor === latest.minor && v.releasedAt !== null) latestMinorReleasedAt = Math.min(latestMinorReleasedAt ?? Infinity, v.releasedAt);
    }
  }
  return {
    connector,
    window,
    from: plan.from,
    to: plan.to,
    latest: latest?.raw ?? null,
    latestSource: latest === null ? null : fromCatalog !== null ? 'catalog' : 'observed',
    latestMinorReleasedAt,
    versions,
    latestMinorShare: total > 0 ? latestMinor / total : null,
    deprecatedShare: total > 0 ? deprecated / total : null,
  };
}

import type { CatalogEvent } from '@pulsegate/events';
import { applyBatch, deltaBucket, type ApplyInput, type ApplyResult, type GroupOutcome, type GroupWriter, type PreparedGroup } from './aggregate';
import { cloneBucket, mergeBucket, type BucketData } from './bucket';
import { DEFAULT_WINDOW_CONFIG, type WindowConfig } from './config';
import { dedupExpireAt, type IdsByMinute } from './dedup';
import { IDENTITY_WORDS, IdentityIndex, IdentityList } from './id-index';
import { connectorTag, MINUTE_MS, parseSeriesField, redisKey, type Resolution, type SeriesId } from './keys';
import type { BucketGrid, ConnectorInfo, DroppedCounts, SeriesInfo, WindowStore } from './store';

export interface MemoryWindowStoreOptions {
  config?: Partial<WindowConfig>;
  /** Epoch-ms clock; default Date.now. */
  clock?: () => number;
}

interface ConnectorState {
  tenant: string;
  connector: string;
  offsets: Map<string, number>;
  series: Map<string, number>;
  dropped: DroppedCounts;
  catalog: CatalogEvent | null;
  generation: number;
  /** Event-time minute → span identities applied and when the set expires, epoch ms. */
  dedup: Map<number, { ids: IdentityIndex; expireAt: number }>;
}

/** In-process window store for the embedded mode; same semantics as the Redis store. */
export class MemoryWindowStore implements WindowStore, GroupWriter {
  readonly kind = 'memory' as const;
  private readonly cfg: WindowConfig;
  private readonly clock: () => number;
  private readonly buckets = new Map<string, { data: BucketData; expireAt: number }>();
  private readonly connectors = new Map<string, ConnectorState>();
  private readonly tenants = new Map<string, Map<string, number>>();
  /** Resume offsets: "<source>|<partition>" → next offset (advanceOffset). */
  private readonly resume = new Map<string, number>();
  private lastSweep = 0;
  private closed = false;

  constructor(options: MemoryWindowStoreOptions = {}) {
    this.cfg = { ...DEFAULT_WINDOW_CONFIG, ...options.config };
    this.clock = options.clock ?? Date.now;
  }

  private state(tenant: string, connector: string): ConnectorState {
    const tag = connectorTag(tenant, connector);
    let s = this.connectors.get(tag);
    if (s === undefined) {
      s = { tenant, connector, offsets: new Map(), series: new Map(), dropped: { late: 0, future: 0, duplicates: 0 }, catalog: null, generation: 0, dedup: new Map() };
      this.connectors.set(tag, s);
    }
    return s;
  }

  async apply(input: ApplyInput): Promise<ApplyResult> {
    if (this.closed) throw new Error('window store is closed');
    const now = this.clock();
    this.sweep(now);
    const { result, groups } = await applyBatch(this, input, now, this.cfg);
    for (const g of groups) {
      if (g.maxEventTime === 0) continue;
      let t = this.tenants.get(g.tenant);
      if (t === undefined) this.tenants.set(g.tenant, (t = new Map()));
      const minute = Math.floor(g.maxEventTime / MINUTE_MS) * MINUTE_MS;
      if ((t.get(g.connector) ?? -Infinity) < minute) t.set(g.connector, minute);
    }
    return result;
  }

  async writeGroups(groups: PreparedGroup[]): Promise<{ outcomes: GroupOutcome[]; calls: number }> {
    const outcomes = groups.map((p): GroupOutcome => {
      const s = this.state(p.group.tenant, p.group.connector);
      const stored = s.offsets.get(p.offsetField) ?? -1;
      if (stored >= p.lastOffset) return { status: 'replayed' };
      if (stored >= p.firstOffset) return { status: 'partial', storedOffset: stored };
      const dup = this.knownIds(s, p);
      if (dup.size > 0) return { status: 'duplicates', ids: dup };
      for (const d of p.group.deltas.values()) {
        const cur = this.buckets.get(d.key);
        if (cur === undefined) this.buckets.set(d.key, { data: deltaBucket(d.data), expireAt: d.expireAt });
        else {
          mergeBucket(cur.data, deltaBucket(d.data));
          cur.expireAt = d.expireAt;
        }
      }
      for (const [f, t] of p.group.lastSeen) if ((s.series.get(f) ?? -Infinity) < t) s.series.set(f, t);
      s.dropped.late += p.group.droppedLate;
      s.dropped.future += p.group.droppedFuture;
      s.dropped.duplicates += p.group.dedup.duplicates;
      this.rememberIds(s, p);
      if (p.group.touchesSettled) s.generation++;
      s.offsets.set(p.offsetField, p.lastOffset);
      return { status: 'applied' };
    });
    return { outcomes, calls: 1 };
  }

  /** Identities of the group the connector already holds (unexpired), as the Redis store finds them: per minute, their words. */
  private knownIds(s: ConnectorState, p: PreparedGroup): IdsByMinute {
    const now = this.clock();
    const out = new Map<number, Uint32Array>();
    for (const [minute, ids] of p.group.dedup.byMinute) {
      const set = s.dedup.get(minute);
      if (set === undefined || set.expireAt <= now) continue;
      const words = ids.added();
      const found = new IdentityList();
      for (let at = 0; at < words.length; at += IDENTITY_WORDS) if (set.ids.has(words, at)) found.push(words, at);
      if (found.size > 0) out.set(minute, found.words());
    }
    return out;
  }

  private rememberIds(s: ConnectorState, p: PreparedGroup): void {
    const now = this.clock();
    for (const [minute, ids] of p.group.dedup.byMinute) {
      const expireAt = dedupExpireAt(minute, now, this.cfg.dedupHorizonMs);
      let set = s.dedup.get(minute);
      if (set === undefined || set.expireAt <= now) s.dedup.set(minute, (set = { ids: new IdentityIndex(), expireAt }));
      const words = ids.added();
      for (let at = 0; at < words.length; at += IDENTITY_WORDS) set.ids.add(words, at);
      set.expireAt = Math.max(set.expireAt, expireAt);
    }
  }

  /** Expiry by TTL, like Redis: expired buckets are invisible at once and freed at most once a minute. */
  private sweep(now: number): void {
    if (now - this.lastSweep < MINUTE_MS) return;
    this.lastSweep = now;
    for (const [k, v] of this.buckets) if (v.expireAt <= now) this.buckets.delete(k);
    for (const c of this.connectors.values()) for (const [m, v] of c.dedup) if (v.expireAt <= now) c.dedup.delete(m);
  }

  async getBuckets(tenant: string, connector: string, resolution: Resolution, series: readonly SeriesId[], starts: readonly number[]): Promise<Array<Array<BucketData | null>>> {
    const now = this.clock();
    return series.map((s) =>
      starts.map((start) => {
        const b = this.buckets.get(redisKey({ type: 'bucket', tenant, connector, resolution, start, series: s }));
        return b === undefined || b.expireAt <= now ? null : cloneBucket(b.data);
      }),
    );
  }

  /** Buckets found at the call; merged from the store's own objects (a write landing before the merge may show in it). */
  async readBuckets(tenant: string, connector: string, resolution: Resolution, series: readonly SeriesId[], starts: readonly number[]): Promise<BucketGrid> {
    const now = this.clock();
    const found = series.map((s) =>
      starts.map((start) => {
        const b = this.buckets.get(redisKey({ type: 'bucket', tenant, connector, resolution, start, series: s }));
        return b === undefined || b.expireAt <= now ? null : b.data;
      }),
    );
    return {
      mergeInto: (i, j, into) => {
        const b = found[i]?.[j];
        if (b === null || b === undefined) return false;
        for (const acc of into) mergeBucket(acc, b);
        return true;
      },
    };
  }

  async generation(tenant: string, connector: string): Promise<number> {
    return this.connectors.get(connectorTag(tenant, connector))?.generation ?? 0;
  }

  async listSeries(tenant: string, connector: string): Promise<SeriesInfo[]> {
    const s = this.connectors.get(connectorTag(tenant, connector));
    if (s === undefined) return [];
    return [...s.series].map(([f, lastSeen]) => ({ ...parseSeriesField(f), lastSeen }));
  }

  async listConnectors(tenant: string): Promise<ConnectorInfo[]> {
    return [...(this.tenants.get(tenant) ?? new Map<string, number>())].map(([connector, lastSeen]) => ({ connector, lastSeen }));
  }

  async listTenants(): Promise<string[]> {
    return [...this.tenants.keys()];
  }

  async dropped(tenant: string, connector: string): Promise<DroppedCounts> {
    const s = this.connectors.get(connectorTag(tenant, connector));
    return s === undefined ? { late: 0, future: 0, duplicates: 0 } : { ...s.dropped };
  }

  async putCatalog(event: CatalogEvent): Promise<void> {
    const s = this.state(event.tenant, event.connector);
    if (s.catalog === null || s.catalog.at <= event.at) s.catalog = structuredClone(event);
  }

  async getCatalog(tenant: string, connector: string): Promise<CatalogEvent | null> {
    const s = this.connectors.get(connectorTag(tenant, connector));
    return s?.catalog === null || s === undefined ? null : structuredClone(s.catalog);
  }

  async resumeOffset(source: string, partition: number): Promise<string | undefined> {
    const next = this.resume.get(`${source}|${partition}`);
    return next === undefined ? undefined : String(next);
  }

  async advanceOffset(source: string, partition: number, next: string): Promise<void> {
    if (this.closed) throw new Error('window store is closed');
    const field = `${source}|${partition}`;
    if ((this.resume.get(field) ?? -1) < Number(next)) this.resume.set(field, Number(next));
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

import { Redis, Cluster, type RedisOptions } from 'ioredis';
import type { CatalogEvent } from '@pulsegate/events';
import { applyBatch, deltaJson, type ApplyInput, type DeltaData, type ApplyResult, type GroupOutcome, type GroupWriter, type PreparedGroup } from './aggregate';
import { emptyBucket, mergeBucket, type BucketData } from './bucket';
import { DEFAULT_WINDOW_CONFIG, type WindowConfig } from './config';
import { archiveEntries, decodeBucketValue, decodeMinuteArchive, DecodedBucket, encodeRecordInto, WriterPool } from './codec';
import { bucketKey, connectorTag, HOUR_MS, keySlot, legacyBucketKey, minuteArchiveKey, MINUTE_MS, parseSeriesField, redisKey, seriesField, type Resolution, type SeriesId } from './keys';
import { APPLY2_LUA, APPLY_LUA, CATALOG_LUA, INDEX_LUA, RESUME_LUA } from './lua';
import { dedupExpireAt, type IdsByMinute } from './dedup';
import { DedupCache, IdentityArgs, newStamp, type MinuteIds } from './dedup-cache';
import type { BucketGrid, ConnectorInfo, DroppedCounts, SeriesInfo, WindowStore } from './store';

/** Where the Redis store connects: one server (URL) or a cluster (seed nodes). */
export type RedisTarget = { url: string } | { clusterNodes: Array<{ host: string; port: number }> };

export interface RedisWindowStoreOptions {
  target: RedisTarget;
  config?: Partial<WindowConfig>;
  /** Epoch-ms clock; default Date.now. */
  clock?: () => number;
  /** Most keys one apply script call touches on a single server (groups are never split). Default 4 000. */
  maxKeysPerCall?: number;
  /**
   * Most span identities the client keeps of the connectors' identity logs (dedup), default
   * 4 000 000 (32 – 64 B each, ≈ 6 000 spans/s at the default horizon); logs beyond are reloaded from Redis when needed.
   */
  dedupCacheIds?: number;
  /** Prepended to every key (ioredis keyPrefix), so deployments can share one Redis. Default none; no braces. */
  keyPrefix?: string;
  /**
   * Bucket layout written: 2 (default) binary records under `b2` keys (codec.ts); 1 the JSON
   * segments of earlier releases under `b` keys, only for rolling upgrades and benchmarks.
   */
  bucketLayout?: 1 | 2;
  /**
   * Layout 2 only: also read layout-1 bucket keys and merge them in (default true), so buckets
   * written before the upgrade count until they expire (hour retention after the upgrade).
   */
  readLegacy?: boolean;
}

type Client = Redis | Cluster;

/** A group's identities per minute and those the client's cache already holds (DedupCache.prepare). */
interface GroupIds {
  minutes: MinuteIds[];
  known: IdsByMinute;
  /** Logs of the connector to rewrite at their exact size (their minute is over). */
  compact: string[];
}

/** What every script call of one writeCalls round shares: its stamp, clock and the groups' identities. */
interface CallContext {
  stamp: string;
  now: number;
  dedup: ReadonlyMap<number, GroupIds>;
  /** Layout 2: per group, its series' hot bucket starts as this call leaves them, kept once the group is applied. */
  pending: Map<number, Map<string, number[]>>;
}
interface ScriptClient {
  pgApply(numKeys: number, ...args: Array<string | Buffer>): Promise<number[]>;
  pgIndex(numKeys: number, ...args: string[]): Promise<number>;
  pgCatalog(numKeys: number, ...args: string[]): Promise<number>;
  pgApply2(numKeys: number, ...args: Array<string | Buffer>): Promise<number[]>;
  pgResume(numKeys: number, ...args: string[]): Promise<number>;
}

/**
 * Buckets starting before this are settled for a writer at `now` (epoch ms): minutes that ended
 * at least a minute ago, hours that ended at least 10 minutes ago. A layout-2 write into a settled
 * bucket compacts it at once; hot buckets are appended to and compacted when they settle.
 */
export function settledBucketStart(resolution: Resolution, now: number): number {
  return resolution === 'm' ? Math.floor(now / MINUTE_MS) * MINUTE_MS - 2 * MINUTE_MS : Math.floor((now - 10 * MINUTE_MS) / HOUR_MS) * HOUR_MS;
}

/** Most series-resolutions whose hot buckets a store remembers for compaction (the oldest are forgotten). */
const MAX_PENDING_SERIES = 200_000;

const MGET_CHUNK = 1_000;
/** Fields asked per HSCAN call of a connector's series index: each reply is parsed in its own step (listSeries). */
const SERIES_SCAN_COUNT = 1_000;

/** A stored bucket value: one JSON bucket, or segments each led by a newline (see APPLY_LUA), merged. */
export function parseBucketValue(value: string): BucketData {
  if (!value.includes('\n')) return JSON.parse(value) as BucketData;
  let acc: BucketData | undefined;
  for (const segment of value.split('\n')) {
    if (segment === '') continue;
    const b = JSON.parse(segment) as BucketData;
    if (acc === undefined) acc = b;
    else mergeBucket(acc, b);
  }
  return acc ?? emptyBucket();
}

/** A grid read's MGET values and its cells built as getBuckets answers them. */
interface FetchedGrid {
  values: Array<Buffer | null>;
  /** Cells (series × starts); archive values follow, then layout-1 values. */
  n: number;
  /** Minute reads: the hours whose archives were read. */
  hours: number[];
  /** Archived minutes starting at or before this have expired. */
  expired: number;
  /** A series' minute archives by hour. */
  archivesOf(si: number): Map<number, Map<number, BucketData>>;
  cell(si: number, ti: number, archives: Map<number, Map<number, BucketData>>): BucketData | null;
}

/** Where each minute's entries sit in a minute archive: how many, and the bytes of the (last) one. */
interface ArchiveIndex {
  buf: Buffer;
  count: Uint8Array;
  from: Uint32Array;
  to: Uint32Array;
}

function archiveIndexOf(v: Buffer | null | undefined): ArchiveIndex | null {
  if (v === null || v === undefined || v.length === 0) return null;
  const index: ArchiveIndex = { buf: v, count: new Uint8Array(60), from: new Uint32Array(60), to: new Uint32Array(60) };
  for (const { minute, record } of archiveEntries(v)) {
    index.count[minute] = Math.min(255, index.count[minute]! + 1);
    index.from[minute] = record.byteOffset - v.byteOffset;
    index.to[minute] = record.byteOffset - v.byteOffset + record.length;
  }
  return index;
}

function legacyOf(v: Buffer | null | undefined): BucketData | null {
  return v === null || v === undefined ? null : parseBucketValue(v.toString('utf8'));
}

/**
 * Window store in Redis or Redis Cluster. Bucket layout 2 (default): a hot series-bucket is one
 * string key of appended binary records (codec.ts), a settled minute one entry of its series'
 * minute archive for the hour, each expiring at bucket (archive: hour) end + retention (PXAT). A batch is
 * written with one script call per Redis Cluster slot (per call on a single server), each
 * tenant/connector group guarded by its own stored offset.
 */
export class RedisWindowStore implements WindowStore, GroupWriter {
  readonly kind = 'redis' as const;
  readonly client: Client;
  private readonly cluster: boolean;
  private readonly cfg: WindowConfig;
  private readonly clock: () => number;
  private readonly maxKeysPerCall: number;
  /** Last index time written per tenant/connector, so the index is touched once a minute at most. */
  private readonly indexed = new Map<string, number>();
  private readonly layout: 1 | 2;
  private readonly readLegacy: boolean;
  /**
   * Layout 2: per series-resolution (`key of its bucket at start 0`), the starts of hot buckets this
   * store appended to and has not yet compacted; named to the apply script once they settle.
   */
  private readonly pending = new Map<string, number[]>();
  private readonly dedupCache: DedupCache;
  /** Script argument buffers, reused once a call was answered. */
  private readonly writers = new WriterPool();
  private closed = false;
  /**
   * Single server: bumped whenever the connection becomes ready (again). A reconnect may reach a
   * server that lost recent writes (restarted from an older snapshot, a promoted replica).
   */
  private epoch = 0;
  /** Per "<source>|<partition>": the epoch its resume offset was last read in (resumeOffset). */
  private readonly checkedIn = new Map<string, number>();

  constructor(options: RedisWindowStoreOptions) {
    this.dedupCache = new DedupCache(options.dedupCacheIds ?? 4_000_000);
    this.cfg = { ...DEFAULT_WINDOW_CONFIG, ...options.config };
    this.clock = options.clock ?? Date.now;
    this.maxKeysPerCall = options.maxKeysPerCall ?? 4_000;
    this.layout = options.bucketLayout ?? 2;
    this.readLegacy = this.layout === 2 && (options.readLegacy ?? true);
    // Fail a command after a few reconnect attempts instead of queueing forever: the bus runner
    // retries the whole batch with backoff, which is safe because writes are idempotent.
    if (options.keyPrefix !== undefined && /[{}]/.test(options.keyPrefix)) throw new Error('keyPrefix must not contain braces (they would change the hash tag)');
    const redisOptions: RedisOptions = { maxRetriesPerRequest: 3, ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }) };
    if ('url' in options.target) {
      // A command in flight when the connection drops fails instead of being sent again to what
      // may be another server state after the reconnect (see fence()); callers retry.
      this.client = new Redis(options.target.url, { ...redisOptions, autoResendUnfulfilledCommands: false });
      this.client.on('ready', () => this.epoch++);
      this.cluster = false;
    } else {
      this.client = new Cluster(options.target.clusterNodes, { redisOptions, scaleReads: 'master' });
      this.cluster = true;
    }
    this.client.on('error', () => undefined); // surfaced through failing commands and ping()
    this.client.defineCommand('pgApply', { lua: APPLY_LUA });
    this.client.defineCommand('pgIndex', { lua: INDEX_LUA });
    this.client.defineCommand('pgCatalog', { lua: CATALOG_LUA });
    this.client.defineCommand('pgApply2', { lua: APPLY2_LUA });
    this.client.defineCommand('pgResume', { lua: RESUME_LUA });
  }

  private get scripts(): ScriptClient {
    return this.client as unknown as ScriptClient;
  }

  async apply(input: ApplyInput): Promise<ApplyResult> {
    if (this.closed) throw new Error('window store is closed');
    const now = this.clock();
    const { result, groups } = await applyBatch(this, input, now, this.cfg);
    // Connector index: a max of minute-truncated times, outside the exactly-once scripts because
    // replaying a max changes nothing.
    const byTenant = new Map<string, Array<[string, number]>>();
    for (const g of groups) {
      if (g.maxEventTime === 0) continue;
      const minute = Math.floor(g.maxEventTime / MINUTE_MS) * MINUTE_MS;
      const id = `${g.tenant}\u0000${g.connector}`;
      if ((this.indexed.get(id) ?? -Infinity) >= minute) continue;
      this.indexed.set(id, minute);
      let list = byTenant.get(g.tenant);
      if (list === undefined) byTenant.set(g.tenant, (list = []));
      list.push([g.connector, minute]);
    }
    if (byTenant.size > 0) {
      const tenants = [...byTenant];
      const keys = [redisKey({ type: 'tenants' }), ...tenants.map(([t]) => redisKey({ type: 'connectors', tenant: t }))];
      await this.scripts.pgIndex(keys.length, ...keys, JSON.stringify(tenants));
      result.storeCalls++;
    }
    return result;
  }

  async writeGroups(groups: PreparedGroup[]): Promise<{ outcomes: GroupOutcome[]; calls: number }> {
    const outcomes: GroupOutcome[] = new Array(groups.length);
    let todo = groups.map((_, i) => i);
    let calls = 0;
    this.dedupCache.sweep(this.clock());
    // Identity logs another writer changed (-3) are reloaded and the groups sent again; a few
    // rounds at most unless writers keep racing for the same connector.
    for (let round = 0; todo.length > 0; round++) {
      if (round > 8) throw new Error('window store: identity logs kept changing while applying a batch');
      const dedup = new Map<number, GroupIds>();
      for (const gi of todo) if (groups[gi]!.group.dedup.byMinute.size > 0) dedup.set(gi, this.dedupCache.prepare(groups[gi]!.group.dedup, groups[gi]!.group.tag, this.clock()));
      let res: { verdicts: number[]; calls: number; stamp: string; now: number };
      try {
        res = await this.writeCalls(groups, todo, dedup);
      } catch (err) {
        // Whether or not a script ran, the cache must not claim identities it cannot vouch for.
        for (const ids of dedup.values()) this.dedupCache.release(ids.minutes);
        throw err;
      }
      calls += res.calls;
      const stale: number[] = [];
      todo.forEach((gi, j) => {
        const r = res.verdicts[j]!;
        const ids = dedup.get(gi);
        // Identities held by prepare() stay only where the script applied them.
        if (r !== -1 && ids !== undefined) this.dedupCache.release(ids.minutes);
        if (r === -1) {
          outcomes[gi] = { status: 'applied' };
          if (ids !== undefined) this.dedupCache.commit(groups[gi]!.group.tag, ids.minutes, res.stamp, (minute) => dedupExpireAt(minute, res.now, this.cfg.dedupHorizonMs));
        } else if (r === -2) outcomes[gi] = { status: 'replayed' };
        else if (r === -3) stale.push(gi);
        else if (r === -4) outcomes[gi] = { status: 'duplicates', ids: ids!.known };
        else outcomes[gi] = { status: 'partial', storedOffset: r };
      });
      if (stale.length > 0) {
        const now = this.clock();
        const logs = stale.flatMap((gi) => dedup.get(gi)!.minutes.map((m) => ({ m, tag: groups[gi]!.group.tag })));
        const values = await Promise.all(logs.map(({ m }) => this.client.getBuffer(m.key)));
        logs.forEach(({ m, tag }, i) => this.dedupCache.load(m, tag, values[i]!, dedupExpireAt(m.minute, now, this.cfg.dedupHorizonMs)));
        calls += logs.length;
      }
      todo = stale;
    }
    return { outcomes, calls };
  }

  /**
   * The script calls for the groups `idx` (one per slot on a cluster; on one server, groups packed
   * up to maxKeysPerCall keys), with their identities; a group whose identities the cache already
   * holds (some) only has its logs' stamps confirmed. Verdicts per group in `idx` order.
   */
  private async writeCalls(groups: PreparedGroup[], idx: number[], dedup: ReadonlyMap<number, GroupIds>): Promise<{ verdicts: number[]; calls: number; stamp: string; now: number }> {
    const calls: number[][] = [];
    if (this.cluster) {
      const bySlot = new Map<number, number[]>();
      for (const i of idx) {
        const slot = keySlot(groups[i]!.group.tag);
        let list = bySlot.get(slot);
        if (list === undefined) bySlot.set(slot, (list = []));
        list.push(i);
      }
      calls.push(...bySlot.values());
    } else {
      let cur: number[] = [];
      let keys = 0;
      for (const i of idx) {
        const g = groups[i]!.group;
        const n = g.deltas.size + g.dedup.byMinute.size + (dedup.get(i)?.compact.length ?? 0) + 4;
        if (cur.length > 0 && keys + n > this.maxKeysPerCall) {
          calls.push(cur);
          cur = [];
          keys = 0;
        }
        cur.push(i);
        keys += n;
      }
      if (cur.length > 0) calls.push(cur);
    }
    const stamp = newStamp();
    const now = this.clock();
    const ctx: CallContext = { stamp, now, dedup, pending: new Map() };
    const verdicts = new Map<number, number>();
    const write = this.layout === 1 ? (c: number[]) => this.writeLayout1(groups, c, ctx) : (c: number[]) => this.writeLayout2(groups, c, ctx);
    await Promise.all(
      calls.map(async (c) => {
        const res = await write(c);
        c.forEach((gi, j) => {
          verdicts.set(gi, Number(res[j]));
          if (Number(res[j]) === -1) this.keepPending(ctx.pending.get(gi));
        });
      }),
    );
    return { verdicts: idx.map((gi) => verdicts.get(gi)!), calls: calls.length, stamp, now };
  }

  /** Remembers the hot buckets of an applied group's series (see `pending`). */
  private keepPending(staged: Map<string, number[]> | undefined): void {
    if (staged === undefined) return;
    for (const [series, hot] of staged) {
      this.pending.delete(series);
      if (hot.length === 0) continue;
      if (this.pending.size >= MAX_PENDING_SERIES) this.pending.delete(this.pending.keys().next().value!);
      this.pending.set(series, hot);
    }
  }

  /** One layout-2 script call for the groups `idx`: binary records, hot buckets appended, settled ones compacted. */
  private async writeLayout2(groups: PreparedGroup[], idx: number[], ctx: CallContext): Promise<number[]> {
    const { now } = ctx;
    const identities = IdentityArgs.sized(idx.map((gi) => ctx.dedup.get(gi)?.minutes), this.writers);
    const horizon = { m: settledBucketStart('m', now), h: settledBucketStart('h', now) };
    const keys: string[] = [];
    const keyIndex = (k: string): number => keys.push(k);
    // Every delta's record, one after the other (ARGV[2]); bytes from..to (1-based) are one record.
    const records = this.writers.take(64 * 1024);
    const payload = {
      f: groups[idx[0]!]!.offsetField,
      g: idx.map((i) => {
        const p = groups[i]!;
        const { tag } = p.group;
        const settle: number[][] = [];
        const archive = (start: number, field: string): [number, number, number] => {
          const hour = Math.floor(start / HOUR_MS) * HOUR_MS;
          return [keyIndex(minuteArchiveKey(tag, hour, field)), (start - hour) / MINUTE_MS, hour + HOUR_MS + this.cfg.minuteRetentionMs];
        };
        const d = [...p.group.deltas.values()].map((delta) => {
          const from = records.length + 1;
          encodeRecordInto(records, delta.data);
          const to = records.length;
          const res = delta.resolution;
          const field = seriesField(delta.series);
          // Settled for this series: by the writer's clock and by the series' own event time in
          // this batch, so a lagging consumer catching up appends (cheap) instead of merging.
          const seen = p.group.lastSeen.get(field);
          const settledBefore = seen === undefined ? horizon[res] : Math.min(horizon[res], settledBucketStart(res, seen));
          const late = delta.start < settledBefore;
          const series = bucketKey(tag, res, 0, field);
          // Hot buckets of this series that have settled since it was last written: compacted
          // (hours) or moved into the minute archive (minutes) in this call.
          const staged = ctx.pending.get(i) ?? new Map<string, number[]>();
          ctx.pending.set(i, staged);
          const hot = (staged.get(series) ?? this.pending.get(series) ?? []).filter((start) => {
            if (start >= settledBefore || start === delta.start) return true;
            const k = keyIndex(bucketKey(tag, res, start, field));
            if (res === 'h') settle.push([k]);
            else {
              const [ak, minute, expireAt] = archive(start, field);
              settle.push([k, ak, minute, expireAt]);
            }
            return false;
          });
          if (!late && !hot.includes(delta.start)) hot.push(delta.start);
          // Kept for the series once this call has applied the group (writeCalls).
          staged.set(series, hot);
          if (!late) return [keyIndex(delta.key), delta.expireAt, from, to, 0];
          if (res === 'h') return [keyIndex(delta.key), delta.expireAt, from, to, 2];
          const [ak, minute, expireAt] = archive(delta.start, field);
          return [ak, expireAt, from, to, 1, minute];
        });
        return { ...this.groupFields(p, i, keyIndex, identities, ctx), d, st: settle };
      }),
    };
    this.fence(payload.f);
    const verdicts = await this.scripts.pgApply2(keys.length, ...keys, JSON.stringify(payload), records.result(), identities.buffer(), ctx.stamp);
    this.writers.give(records, identities.writer);
    return verdicts;
  }

  /**
   * What both layouts' scripts read of a group besides its buckets (GROUP_LUA's check_group and
   * finish_group): offsets, series, dropped and generation keys, offsets, last-seen times, dropped
   * counts and span identities.
   */
  private groupFields(p: PreparedGroup, gi: number, keyIndex: (k: string) => number, identities: IdentityArgs, ctx: CallContext) {
    const { tenant, connector } = p.group;
    const ids = ctx.dedup.get(gi);
    return {
      o: keyIndex(redisKey({ type: 'offsets', tenant, connector })),
      sk: keyIndex(redisKey({ type: 'series', tenant, connector })),
      dk: keyIndex(redisKey({ type: 'dropped', tenant, connector })),
      gk: keyIndex(redisKey({ type: 'generation', tenant, connector })),
      lw: p.group.touchesSettled ? 1 : 0,
      fo: p.firstOffset,
      lo: p.lastOffset,
      s: [...p.group.lastSeen],
      x: [p.group.droppedLate, p.group.droppedFuture, p.group.dedup.duplicates],
      dd: ids === undefined ? [] : identities.entries(ids.minutes, keyIndex, ctx.now, this.cfg.dedupHorizonMs),
      ...(ids !== undefined && ids.known.size > 0 ? { v: 1 } : {}),
      ...(ids !== undefined && ids.compact.length > 0 ? { dc: ids.compact.map(keyIndex) } : {}),
    };
  }

  /** One layout-1 script call (the JSON segments of earlier releases, under legacy keys). */
  private async writeLayout1(groups: PreparedGroup[], idx: number[], ctx: CallContext): Promise<number[]> {
    const identities = IdentityArgs.sized(idx.map((gi) => ctx.dedup.get(gi)?.minutes), this.writers);
    const keys: string[] = [];
    const keyIndex = (k: string): number => keys.push(k);
    // Delta segments travel in one argument (ARGV[2]) as byte ranges, so the script never
    // decodes them and the client does not pay per-argument costs for thousands of them.
    const segments: string[] = [];
    let at = 1;
    const segmentRange = (d: DeltaData): [number, number] => {
      const text = `\n${deltaJson(d)}`;
      segments.push(text);
      const from = at;
      at += Buffer.byteLength(text);
      return [from, at - 1];
    };
    const payload = {
      f: groups[idx[0]!]!.offsetField,
      g: idx.map((i) => {
        const p = groups[i]!;
        return {
          ...this.groupFields(p, i, keyIndex, identities, ctx),
          d: [...p.group.deltas.values()].map((d) => [keyIndex(legacyBucketKey(p.group.tag, d.resolution, d.start, seriesField(d.series))), d.expireAt, ...segmentRange(d.data)]),
        };
      }),
    };
    this.fence(payload.f);
    const verdicts = await this.scripts.pgApply(keys.length, ...keys, JSON.stringify(payload), segments.join(''), identities.buffer(), ctx.stamp);
    this.writers.give(identities.writer);
    return verdicts;
  }

  async getBuckets(tenant: string, connector: string, resolution: Resolution, series: readonly SeriesId[], starts: readonly number[]): Promise<Array<Array<BucketData | null>>> {
    const read = await this.fetchGrid(tenant, connector, resolution, series, starts);
    return series.map((_, si) => {
      const archives = read.archivesOf(si);
      return starts.map((__, ti) => read.cell(si, ti, archives));
    });
  }

  /**
   * getBuckets' grid, decoded as it is merged: a bucket held in one value (a hot bucket, or one
   * archived minute with a single entry) is decoded into a reused DecodedBucket and added straight
   * into the accumulators; a bucket assembled from several values (archive and hot, or layout-1
   * keys) is built as getBuckets builds it and merged.
   */
  async readBuckets(tenant: string, connector: string, resolution: Resolution, series: readonly SeriesId[], starts: readonly number[]): Promise<BucketGrid> {
    const read = await this.fetchGrid(tenant, connector, resolution, series, starts);
    const { values, n, hours, expired } = read;
    // A cell built as getBuckets builds it, then merged.
    const mergeBuilt = (si: number, ti: number, archives: Map<number, Map<number, BucketData>>, into: readonly BucketData[]): boolean => {
      const b = read.cell(si, ti, archives);
      if (b === null) return false;
      for (const acc of into) mergeBucket(acc, b);
      return true;
    };
    if (this.layout === 1) return { mergeInto: (si, ti, into) => mergeBuilt(si, ti, new Map(), into) };
    const scratch = new DecodedBucket();
    // Minute reads: the archive entries of the series last asked for, per hour (series are merged in order).
    let indexedSeries = -1;
    let index: Array<ArchiveIndex | null> = [];
    return {
      mergeInto: (si, ti, into) => {
        const j = si * starts.length + ti;
        const hot = values[j];
        const legacy = this.readLegacy ? values[n + series.length * hours.length + j] : null;
        let archived: ArchiveIndex | null = null;
        let minute = -1;
        const start = starts[ti]!;
        if (resolution === 'm' && start > expired) {
          if (indexedSeries !== si) {
            indexedSeries = si;
            index = hours.map((_, hi) => archiveIndexOf(values[n + si * hours.length + hi]));
          }
          const hour = Math.floor(start / HOUR_MS) * HOUR_MS;
          archived = index[hours.indexOf(hour)] ?? null;
          minute = (start - hour) / MINUTE_MS;
          if (archived !== null && archived.count[minute] === 0) archived = null;
        }
        const sources = (archived !== null ? 1 : 0) + (hot !== null && hot !== undefined ? 1 : 0) + (legacy !== null && legacy !== undefined ? 1 : 0);
        if (sources === 0) return false;
        let one: Buffer | null = null;
        if (sources === 1 && archived !== null && archived.count[minute] === 1) one = archived.buf.subarray(archived.from[minute], archived.to[minute]);
        else if (sources === 1 && hot !== null && hot !== undefined) one = hot;
        if (one !== null) {
          scratch.decode(one);
          for (const acc of into) scratch.addTo(acc);
          return true;
        }
        return mergeBuilt(si, ti, read.archivesOf(si), into);
      },
    };
  }

  /** The MGET of a grid read (see getBuckets) and how to build its cells. */
  private async fetchGrid(tenant: string, connector: string, resolution: Resolution, series: readonly SeriesId[], starts: readonly number[]): Promise<FetchedGrid> {
    const tag = connectorTag(tenant, connector);
    const fields = series.map(seriesField);
    const grid = (key: (field: string, start: number) => string, at: readonly number[]): string[] => fields.flatMap((f) => at.map((start) => key(f, start)));
    if (this.layout === 1) {
      const values = await this.mget(grid((f, start) => legacyBucketKey(tag, resolution, start, f), starts));
      return {
        values,
        n: 0,
        hours: [],
        expired: -Infinity,
        archivesOf: () => new Map(),
        cell: (si, ti) => legacyOf(values[si * starts.length + ti]),
      };
    }
    // Layout 2: hot buckets; for minutes also the series' minute archives of the hours involved;
    // and, while they may exist, the layout-1 keys of the same buckets.
    const hours = resolution === 'm' ? [...new Set(starts.map((s) => Math.floor(s / HOUR_MS) * HOUR_MS))] : [];
    // concat, not push(...): a read of 200 series × 721 hours has more keys than a call may take arguments.
    let keys = grid((f, start) => bucketKey(tag, resolution, start, f), starts).concat(grid((f, hour) => minuteArchiveKey(tag, hour, f), hours));
    if (this.readLegacy) keys = keys.concat(grid((f, start) => legacyBucketKey(tag, resolution, start, f), starts));
    const values = await this.mget(keys);
    const n = series.length * starts.length;
    // Archived minutes are dropped once their own expiry has passed (the archive lives to the end of its hour + retention).
    const expired = this.clock() - MINUTE_MS - this.cfg.minuteRetentionMs;
    return {
      values,
      n,
      hours,
      expired,
      archivesOf: (si) => {
        const archives = new Map<number, Map<number, BucketData>>();
        hours.forEach((hour, hi) => {
          const v = values[n + si * hours.length + hi];
          if (v !== null && v !== undefined && v.length > 0) archives.set(hour, decodeMinuteArchive(v));
        });
        return archives;
      },
      cell: (si, ti, archives) => {
        const j = si * starts.length + ti;
        const start = starts[ti]!;
        const hour = Math.floor(start / HOUR_MS) * HOUR_MS;
        let acc = start > expired ? (archives.get(hour)?.get((start - hour) / MINUTE_MS) ?? null) : null;
        const hot = values[j];
        if (hot !== null && hot !== undefined) acc = acc === null ? decodeBucketValue(hot) : mergeBucket(acc, decodeBucketValue(hot));
        const old = this.readLegacy ? legacyOf(values[n + series.length * hours.length + j]) : null;
        if (old !== null) acc = acc === null ? old : mergeBucket(acc, old);
        return acc;
      },
    };
  }

  /**
   * MGET as Buffers in chunks sent together (ioredis pipelines them: one round trip's wait, not one
   * per chunk); all keys share the connector's hash tag, so each is a single-slot command on a cluster.
   */
  private async mget(keys: string[]): Promise<Array<Buffer | null>> {
    const parts: Array<Promise<Array<Buffer | null>>> = [];
    for (let i = 0; i < keys.length; i += MGET_CHUNK) parts.push(this.client.mgetBuffer(keys.slice(i, i + MGET_CHUNK)));
    return (await Promise.all(parts)).flat();
  }

  async generation(tenant: string, connector: string): Promise<number> {
    return Number((await this.client.get(redisKey({ type: 'generation', tenant, connector }))) ?? 0);
  }

  /**
   * The connector's series index, HSCAN'd ≈ SERIES_SCAN_COUNT fields per call: a 5 000-series
   * connector is listed and parsed in several short steps (the event loop runs between replies)
   * instead of one HGETALL reply parsed at once. A field HSCAN returns twice (the hash was resized
   * meanwhile) is kept once, with its newest time.
   */
  async listSeries(tenant: string, connector: string): Promise<SeriesInfo[]> {
    const key = redisKey({ type: 'series', tenant, connector });
    const out = new Map<string, SeriesInfo>();
    let cursor = '0';
    do {
      const [next, flat] = await this.client.hscan(key, cursor, 'COUNT', SERIES_SCAN_COUNT);
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const f = flat[i]!;
        const t = Number(flat[i + 1]);
        const seen = out.get(f);
        if (seen === undefined) out.set(f, { ...parseSeriesField(f), lastSeen: t });
        else seen.lastSeen = Math.max(seen.lastSeen, t);
      }
      cursor = next;
    } while (cursor !== '0');
    return [...out.values()];
  }

  async listConnectors(tenant: string): Promise<ConnectorInfo[]> {
    const h = await this.client.hgetall(redisKey({ type: 'connectors', tenant }));
    return Object.entries(h).map(([connector, t]) => ({ connector, lastSeen: Number(t) }));
  }

  async listTenants(): Promise<string[]> {
    return this.client.hkeys(redisKey({ type: 'tenants' }));
  }

  async dropped(tenant: string, connector: string): Promise<DroppedCounts> {
    const h = await this.client.hgetall(redisKey({ type: 'dropped', tenant, connector }));
    return { late: Number(h.late ?? 0), future: Number(h.future ?? 0), duplicates: Number(h.duplicates ?? 0) };
  }

  async putCatalog(event: CatalogEvent): Promise<void> {
    await this.scripts.pgCatalog(1, redisKey({ type: 'catalog', tenant: event.tenant, connector: event.connector }), JSON.stringify(event), String(event.at));
  }

  async getCatalog(tenant: string, connector: string): Promise<CatalogEvent | null> {
    const v = await this.client.get(redisKey({ type: 'catalog', tenant, connector }));
    return v === null ? null : (JSON.parse(v) as CatalogEvent);
  }

  async resumeOffset(source: string, partition: number): Promise<string | undefined> {
    const field = `${source}|${partition}`;
    const next = await this.client.hget(redisKey({ type: 'resume' }), field);
    this.checkedIn.set(field, this.epoch);
    return next ?? undefined;
  }

  async advanceOffset(source: string, partition: number, next: string): Promise<void> {
    if (this.closed) throw new Error('window store is closed');
    const field = `${source}|${partition}`;
    this.fence(field);
    await this.scripts.pgResume(1, redisKey({ type: 'resume' }), field, next);
  }

  /**
   * Single server: refuses (retriably) a write for a partition whose resume offset was read on an
   * earlier connection than the one the write would go to. Between the bus's check (resumeOffset)
   * and this write Redis may have restarted from an older snapshot; writing there would raise the
   * connectors' offsets past records it lost, which could then never be applied again. The bus
   * retries, reading the resume offset again first. Writes of a partition never checked are not
   * fenced (stores used without the bus's resume check). Not on a cluster (one connection per node).
   */
  private fence(field: string): void {
    const checked = this.checkedIn.get(field);
    if (this.cluster || checked === undefined) return;
    if (checked !== this.epoch || this.client.status !== 'ready') {
      throw new Error(`window store: the Redis connection changed since partition ${field}'s resume offset was read; trying again`);
    }
  }

  async ping(): Promise<boolean> {
    if (this.closed) return false;
    try {
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

import { Redis, Cluster, type RedisOptions } from 'ioredis';
import type { CatalogEvent } from '@pulsegate/events';
import { applyBatch, deltaJson, type ApplyInput, type DeltaData, type ApplyResult, type GroupOutcome, type GroupWriter, type PreparedGroup } from './aggregate';
import { emptyBucket, mergeBucket, type BucketData } from './bucket';
import { DEFAULT_WINDOW_CONFIG, type WindowConfig } from './config';
import { keySlot, MINUTE_MS, parseSeriesField, redisKey, type Resolution, type SeriesId } from './keys';
import { APPLY_LUA, CATALOG_LUA, INDEX_LUA } from './lua';
import { identitiesAt, IdentityArgs } from './dedup';
import type { ConnectorInfo, DroppedCounts, SeriesInfo, WindowStore } from './store';

/** Where the Redis store connects: one server (URL) or a cluster (seed nodes). */
export type RedisTarget = { url: string } | { clusterNodes: Array<{ host: string; port: number }> };

export interface RedisWindowStoreOptions {
  target: RedisTarget;
  config?: Partial<WindowConfig>;
  /** Epoch-ms clock; default Date.now. */
  clock?: () => number;
  /** Most keys one apply script call touches on a single server (groups are never split). Default 4 000. */
  maxKeysPerCall?: number;
  /** Prepended to every key (ioredis keyPrefix), so deployments can share one Redis. Default none; no braces. */
  keyPrefix?: string;
}

type Client = Redis | Cluster;
interface ScriptClient {
  pgApply(numKeys: number, ...args: Array<string | Buffer>): Promise<Array<number | number[]>>;
  pgIndex(numKeys: number, ...args: string[]): Promise<number>;
  pgCatalog(numKeys: number, ...args: string[]): Promise<number>;
}

const MGET_CHUNK = 1_000;

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

/**
 * Window store in Redis or Redis Cluster. Each series-bucket is one string key holding the JSON of
 * a BucketData (merged by a Lua script), expiring at bucket end + retention (PXAT). A batch is
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
  private closed = false;

  constructor(options: RedisWindowStoreOptions) {
    this.cfg = { ...DEFAULT_WINDOW_CONFIG, ...options.config };
    this.clock = options.clock ?? Date.now;
    this.maxKeysPerCall = options.maxKeysPerCall ?? 4_000;
    // Fail a command after a few reconnect attempts instead of queueing forever: the bus runner
    // retries the whole batch with backoff, which is safe because writes are idempotent.
    if (options.keyPrefix !== undefined && /[{}]/.test(options.keyPrefix)) throw new Error('keyPrefix must not contain braces (they would change the hash tag)');
    const redisOptions: RedisOptions = { maxRetriesPerRequest: 3, ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }) };
    if ('url' in options.target) {
      this.client = new Redis(options.target.url, redisOptions);
      this.cluster = false;
    } else {
      this.client = new Cluster(options.target.clusterNodes, { redisOptions, scaleReads: 'master' });
      this.cluster = true;
    }
    this.client.on('error', () => undefined); // surfaced through failing commands and ping()
    this.client.defineCommand('pgApply', { lua: APPLY_LUA });
    this.client.defineCommand('pgIndex', { lua: INDEX_LUA });
    this.client.defineCommand('pgCatalog', { lua: CATALOG_LUA });
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
    // Calls: one per slot on a cluster; on one server, groups packed up to maxKeysPerCall keys.
    const calls: number[][] = [];
    if (this.cluster) {
      const bySlot = new Map<number, number[]>();
      groups.forEach((p, i) => {
        const slot = keySlot(p.group.tag);
        let list = bySlot.get(slot);
        if (list === undefined) bySlot.set(slot, (list = []));
        list.push(i);
      });
      calls.push(...bySlot.values());
    } else {
      let cur: number[] = [];
      let keys = 0;
      groups.forEach((p, i) => {
        const n = p.group.deltas.size + p.group.dedup.byMinute.size + 4;
        if (cur.length > 0 && keys + n > this.maxKeysPerCall) {
          calls.push(cur);
          cur = [];
          keys = 0;
        }
        cur.push(i);
        keys += n;
      });
      if (cur.length > 0) calls.push(cur);
    }
    const outcomes: GroupOutcome[] = new Array(groups.length);
    const now = this.clock();
    await Promise.all(
      calls.map(async (idx) => {
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
        const identities = new IdentityArgs();
        const payload = {
          f: groups[idx[0]!]!.offsetField,
          g: idx.map((i) => {
            const p = groups[i]!;
            const { tenant, connector } = p.group;
            return {
              o: keyIndex(redisKey({ type: 'offsets', tenant, connector })),
              sk: keyIndex(redisKey({ type: 'series', tenant, connector })),
              dk: keyIndex(redisKey({ type: 'dropped', tenant, connector })),
              gk: keyIndex(redisKey({ type: 'generation', tenant, connector })),
              lw: p.group.touchesSettled ? 1 : 0,
              fo: p.firstOffset,
              lo: p.lastOffset,
              d: [...p.group.deltas.values()].map((d) => [keyIndex(d.key), d.expireAt, ...segmentRange(d.data)]),
              s: [...p.group.lastSeen],
              x: [p.group.droppedLate, p.group.droppedFuture, p.group.dedup.duplicates],
              dd: identities.entries(p.group.dedup, p.group.tag, keyIndex, now, this.cfg.dedupHorizonMs),
            };
          }),
        };
        const res = await this.scripts.pgApply(keys.length, ...keys, JSON.stringify(payload), segments.join(''), identities.buffer());
        idx.forEach((gi, j) => {
          const r = res[j];
          if (Array.isArray(r)) outcomes[gi] = { status: 'duplicates', ids: identitiesAt(groups[gi]!.group.dedup, r.map(Number)) };
          else outcomes[gi] = Number(r) === -1 ? { status: 'applied' } : Number(r) === -2 ? { status: 'replayed' } : { status: 'partial', storedOffset: Number(r) };
        });
      }),
    );
    return { outcomes, calls: calls.length };
  }

  async getBuckets(tenant: string, connector: string, resolution: Resolution, series: readonly SeriesId[], starts: readonly number[]): Promise<Array<Array<BucketData | null>>> {
    const keys: string[] = [];
    for (const s of series) for (const start of starts) keys.push(redisKey({ type: 'bucket', tenant, connector, resolution, start, series: s }));
    const values: Array<string | null> = [];
    // All keys share the connector's hash tag, so each MGET is a single-slot command on a cluster.
    for (let i = 0; i < keys.length; i += MGET_CHUNK) values.push(...(await this.client.mget(keys.slice(i, i + MGET_CHUNK))));
    return series.map((_, si) => starts.map((__, ti) => {
      const v = values[si * starts.length + ti];
      return v === null || v === undefined ? null : parseBucketValue(v);
    }));
  }

  async generation(tenant: string, connector: string): Promise<number> {
    return Number((await this.client.get(redisKey({ type: 'generation', tenant, connector }))) ?? 0);
  }

  async listSeries(tenant: string, connector: string): Promise<SeriesInfo[]> {
    const h = await this.client.hgetall(redisKey({ type: 'series', tenant, connector }));
    return Object.entries(h).map(([f, t]) => ({ ...parseSeriesField(f), lastSeen: Number(t) }));
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

import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** The action an SLO covers: every version of one connector action (kind picks the latency threshold). */
export interface ActionRef {
  connector: string;
  action: string;
  kind: 'read' | 'write';
}

/**
 * Counts of one action over one 5-minute block (all versions summed). `le[i]` counts calls at or
 * under LATENCY_BOUNDS_MS[i]; null when the producer sent no latency buckets.
 */
export interface BlockCounts {
  calls: number;
  successes: number;
  throttled: number;
  le: number[] | null;
}

/** Where SLO blocks live; a memory and a Redis implementation pass one contract test. */
export interface SloLedgerStore {
  /** Stores (overwrites) one block and drops blocks at or before `block − keepBlocks`. */
  put(tenant: string, ref: ActionRef, block: number, counts: BlockCounts, keepBlocks: number): Promise<void>;
  /** Every kept block of an action, by block number (epoch ms / 300 000). */
  load(tenant: string, ref: ActionRef): Promise<Map<number, BlockCounts>>;
  /** Actions of a tenant that have blocks. */
  actions(tenant: string): Promise<ActionRef[]>;
  /** Tenants that have SLO blocks. */
  tenants(): Promise<string[]>;
}

/** Stable key of an action within a tenant (separator cannot occur in label values' JSON). */
export function actionKey(ref: ActionRef): string {
  return JSON.stringify([ref.connector, ref.action, ref.kind]);
}

/** SLO blocks in process memory (embedded mode, tests). */
export class MemorySloLedgerStore implements SloLedgerStore {
  private readonly data = new Map<string, Map<string, { ref: ActionRef; blocks: Map<number, BlockCounts> }>>();

  async put(tenant: string, ref: ActionRef, block: number, counts: BlockCounts, keepBlocks: number): Promise<void> {
    let t = this.data.get(tenant);
    if (t === undefined) this.data.set(tenant, (t = new Map()));
    const k = actionKey(ref);
    let a = t.get(k);
    if (a === undefined) t.set(k, (a = { ref: { ...ref }, blocks: new Map() }));
    a.blocks.set(block, structuredClone(counts));
    for (const b of a.blocks.keys()) if (b <= block - keepBlocks) a.blocks.delete(b);
  }

  async load(tenant: string, ref: ActionRef): Promise<Map<number, BlockCounts>> {
    const a = this.data.get(tenant)?.get(actionKey(ref));
    return new Map([...(a?.blocks ?? new Map<number, BlockCounts>())].map(([b, c]) => [b, structuredClone(c)]));
  }

  async actions(tenant: string): Promise<ActionRef[]> {
    return [...(this.data.get(tenant)?.values() ?? [])].map((a) => ({ ...a.ref }));
  }

  async tenants(): Promise<string[]> {
    return [...this.data.keys()];
  }
}

const BLOCK_MS = 300_000;

/**
 * SLO blocks in Redis: one sorted set per action (score = block, member = "block:json"), and a
 * hash per tenant indexing its actions. Keys carry the tenant hash tag so a tenant's SLO data
 * lives in one Redis Cluster slot.
 */
export class RedisSloLedgerStore implements SloLedgerStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = 'pg:ad',
  ) {}

  private tag(tenant: string): string {
    return `${this.prefix}:{t:${encodeURIComponent(tenant)}}`;
  }

  private blocksKey(tenant: string, ref: ActionRef): string {
    return `${this.tag(tenant)}:slo:${createHash('sha256').update(actionKey(ref)).digest('hex').slice(0, 24)}`;
  }

  async put(tenant: string, ref: ActionRef, block: number, counts: BlockCounts, keepBlocks: number): Promise<void> {
    const key = this.blocksKey(tenant, ref);
    const c = counts;
    await this.redis
      .multi()
      .zremrangebyscore(key, block, block)
      .zadd(key, block, `${block}:${JSON.stringify([c.calls, c.successes, c.throttled, c.le])}`)
      .zremrangebyscore(key, '-inf', block - keepBlocks)
      .pexpire(key, keepBlocks * BLOCK_MS)
      .hset(`${this.tag(tenant)}:slo-index`, actionKey(ref), '1')
      .exec();
    // A separate single-key command: in Redis Cluster the tenants set lives in another slot.
    await this.redis.sadd(`${this.prefix}:slo-tenants`, tenant);
  }

  async load(tenant: string, ref: ActionRef): Promise<Map<number, BlockCounts>> {
    const members = await this.redis.zrange(this.blocksKey(tenant, ref), 0, -1);
    const out = new Map<number, BlockCounts>();
    for (const m of members) {
      const i = m.indexOf(':');
      const [calls, successes, throttled, le] = JSON.parse(m.slice(i + 1)) as [number, number, number, number[] | null];
      out.set(Number(m.slice(0, i)), { calls, successes, throttled, le });
    }
    return out;
  }

  async actions(tenant: string): Promise<ActionRef[]> {
    const keys = await this.redis.hkeys(`${this.tag(tenant)}:slo-index`);
    return keys.map((k) => {
      const [connector, action, kind] = JSON.parse(k) as [string, string, 'read' | 'write'];
      return { connector, action, kind };
    });
  }

  async tenants(): Promise<string[]> {
    return this.redis.smembers(`${this.prefix}:slo-tenants`);
  }
}

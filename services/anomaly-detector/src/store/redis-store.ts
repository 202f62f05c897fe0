import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { AlertRecord } from '../lifecycle/alert';
import type { Silence } from '../silences/matchers';
import { MAX_DEAD_LETTERS } from './memory-store';
import type { DeadLetterRecord, DetectorStore, OutboxItem } from './types';

/**
 * Redis keys, built here only. Everything of one tenant shares the hash tag `{t:<tenant>}` and the
 * outbox shares `{outbox}`, so each Lua script touches a single Redis Cluster slot. The tenant is
 * percent-encoded so a "}" in it cannot end the hash tag early.
 */
export const redisKeys = {
  alert: (p: string, tenant: string, fp: string): string => `${p}:{t:${encodeURIComponent(tenant)}}:alert:${fp}`,
  alertIndex: (p: string, tenant: string): string => `${p}:{t:${encodeURIComponent(tenant)}}:alerts`,
  tenants: (p: string): string => `${p}:tenants`,
  history: (p: string, tenant: string, seriesId: string): string =>
    `${p}:{t:${encodeURIComponent(tenant)}}:hist:${createHash('sha256').update(seriesId).digest('hex').slice(0, 24)}`,
  silences: (p: string, tenant: string): string => `${p}:{t:${encodeURIComponent(tenant)}}:silences`,
  notices: (p: string, tenant: string): string => `${p}:{t:${encodeURIComponent(tenant)}}:notices`,
  due: (p: string): string => `${p}:{outbox}:due`,
  items: (p: string): string => `${p}:{outbox}:items`,
  lease: (p: string, key: string): string => `${p}:{outbox}:lease:${key}`,
  done: (p: string, key: string): string => `${p}:{outbox}:done:${key}`,
  dead: (p: string): string => `${p}:{outbox}:dlq`,
};

// Compare-and-set on the alert's version: two detector instances racing on one alert cannot both
// win a transition, so only one of them queues its notification.
const SAVE_ALERT = `
local cur = redis.call('GET', KEYS[1])
local ver = 0
if cur then ver = cjson.decode(cur).version end
if ver ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1`;

const DELETE_ALERT = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cjson.decode(cur).version ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1`;

// KEYS: items, due. ARGV: key, json, dueAt, done key.
const ENQUEUE = `
if redis.call('EXISTS', ARGV[4]) == 1 then return 0 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1`;

// KEYS: lease, done. ARGV: owner, leaseMs.
const CLAIM = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`;

// KEYS: done, items, due, lease. ARGV: key, rememberMs.
const COMPLETE = `
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4])
return 1`;

// KEYS: items, due, lease. ARGV: key, json, dueAt.
const RESCHEDULE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
redis.call('DEL', KEYS[3])
return 1`;

/** Options of the Redis store. */
export interface RedisStoreOptions {
  /** Key prefix. Default "pg:ad". */
  prefix?: string;
}

/** DetectorStore on Redis or Redis Cluster (ioredis client owned by the caller unless `ownsClient`). */
export class RedisStore implements DetectorStore {
  readonly kind = 'redis' as const;
  private readonly p: string;

  constructor(
    private readonly redis: Redis | Cluster,
    options: RedisStoreOptions = {},
    private readonly ownsClient = false,
  ) {
    this.p = options.prefix ?? 'pg:ad';
  }

  async getAlert(tenant: string, fingerprint: string): Promise<AlertRecord | null> {
    const raw = await this.redis.get(redisKeys.alert(this.p, tenant, fingerprint));
    return raw === null ? null : (JSON.parse(raw) as AlertRecord);
  }

  async listAlerts(tenant: string): Promise<AlertRecord[]> {
    const fps = await this.redis.smembers(redisKeys.alertIndex(this.p, tenant));
    if (fps.length === 0) return [];
    const out: AlertRecord[] = [];
    // MGET within one tenant stays in one slot (same hash tag).
    for (let i = 0; i < fps.length; i += 500) {
      const raws = await this.redis.mget(...fps.slice(i, i + 500).map((fp) => redisKeys.alert(this.p, tenant, fp)));
      for (const raw of raws) if (raw !== null) out.push(JSON.parse(raw) as AlertRecord);
    }
    return out;
  }

  async tenants(): Promise<string[]> {
    return this.redis.smembers(redisKeys.tenants(this.p));
  }

  async saveAlert(next: AlertRecord): Promise<boolean> {
    const ok = await this.redis.eval(
      SAVE_ALERT,
      2,
      redisKeys.alert(this.p, next.tenant, next.fingerprint),
      redisKeys.alertIndex(this.p, next.tenant),
      String(next.version - 1),
      JSON.stringify(next),
      next.fingerprint,
    );
    if (ok === 1 && next.version === 1) await this.redis.sadd(redisKeys.tenants(this.p), next.tenant);
    return ok === 1;
  }

  async deleteAlert(tenant: string, fingerprint: string, version: number): Promise<boolean> {
    const ok = await this.redis.eval(DELETE_ALERT, 2, redisKeys.alert(this.p, tenant, fingerprint), redisKeys.alertIndex(this.p, tenant), String(version), fingerprint);
    return ok === 1;
  }

  async noticeSentAt(tenant: string, id: string): Promise<number | null> {
    const raw = await this.redis.hget(redisKeys.notices(this.p, tenant), id);
    return raw === null ? null : Number(raw);
  }

  async markNoticeSent(tenant: string, id: string, at: number): Promise<boolean> {
    return (await this.redis.hsetnx(redisKeys.notices(this.p, tenant), id, String(at))) === 1;
  }

  async recordPoint(tenant: string, seriesId: string, bucket: number, value: number, keep: number): Promise<void> {
    const key = redisKeys.history(this.p, tenant, seriesId);
    await this.redis
      .multi()
      .zremrangebyscore(key, bucket, bucket)
      .zadd(key, bucket, `${bucket}:${value}`)
      .zremrangebyscore(key, '-inf', bucket - keep)
      .pexpire(key, keep * 300_000)
      .exec();
  }

  async history(tenant: string, seriesId: string): Promise<Map<number, number>> {
    const members = await this.redis.zrange(redisKeys.history(this.p, tenant, seriesId), 0, -1);
    const out = new Map<number, number>();
    for (const m of members) {
      const i = m.indexOf(':');
      out.set(Number(m.slice(0, i)), Number(m.slice(i + 1)));
    }
    return out;
  }

  async putSilence(silence: Silence): Promise<void> {
    await this.redis.hset(redisKeys.silences(this.p, silence.tenant), silence.id, JSON.stringify(silence));
  }

  async getSilence(tenant: string, id: string): Promise<Silence | null> {
    const raw = await this.redis.hget(redisKeys.silences(this.p, tenant), id);
    return raw === null ? null : (JSON.parse(raw) as Silence);
  }

  async listSilences(tenant: string): Promise<Silence[]> {
    const all = await this.redis.hvals(redisKeys.silences(this.p, tenant));
    return all.map((raw) => JSON.parse(raw) as Silence);
  }

  async enqueue(items: OutboxItem[]): Promise<void> {
    for (const item of items) {
      await this.redis.eval(ENQUEUE, 2, redisKeys.items(this.p), redisKeys.due(this.p), item.key, JSON.stringify(item), String(item.dueAt), redisKeys.done(this.p, item.key));
    }
  }

  async due(now: number, limit: number): Promise<OutboxItem[]> {
    const keys = await this.redis.zrangebyscore(redisKeys.due(this.p), '-inf', now, 'LIMIT', 0, limit);
    if (keys.length === 0) return [];
    const raws = await this.redis.hmget(redisKeys.items(this.p), ...keys);
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as OutboxItem);
  }

  async queued(key: string): Promise<boolean> {
    return (await this.redis.hexists(redisKeys.items(this.p), key)) === 1;
  }

  async claim(key: string, owner: string, leaseMs: number): Promise<boolean> {
    const ok = await this.redis.eval(CLAIM, 2, redisKeys.lease(this.p, key), redisKeys.done(this.p, key), owner, String(leaseMs));
    return ok === 1;
  }

  async reschedule(item: OutboxItem): Promise<void> {
    await this.redis.eval(RESCHEDULE, 3, redisKeys.items(this.p), redisKeys.due(this.p), redisKeys.lease(this.p, item.key), item.key, JSON.stringify(item), String(item.dueAt));
  }

  async complete(key: string, rememberMs: number): Promise<void> {
    await this.redis.eval(COMPLETE, 4, redisKeys.done(this.p, key), redisKeys.items(this.p), redisKeys.due(this.p), redisKeys.lease(this.p, key), key, String(rememberMs));
  }

  async deadLetter(record: DeadLetterRecord, rememberMs: number): Promise<void> {
    await this.redis.multi().lpush(redisKeys.dead(this.p), JSON.stringify(record)).ltrim(redisKeys.dead(this.p), 0, MAX_DEAD_LETTERS - 1).exec();
    await this.complete(record.item.key, rememberMs);
  }

  async deadLetters(limit: number): Promise<DeadLetterRecord[]> {
    const raws = await this.redis.lrange(redisKeys.dead(this.p), 0, limit - 1);
    return raws.map((r) => JSON.parse(r) as DeadLetterRecord);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.redis.quit().catch(() => undefined);
  }
}

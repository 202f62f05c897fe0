import type { Cluster, Redis } from 'ioredis';

/** One alert state transition (pending / firing / resolved / inactive). Times are epoch ms. */
export interface TransitionEntry {
  kind: 'transition';
  at: number;
  tenant: string;
  fingerprint: string;
  rule: string;
  labels: Record<string, string>;
  from: string | null;
  to: string;
}

/** One notification attempt. Webhook deliveries carry the outbox idempotency key; Alertmanager pushes have none. */
export interface NotificationEntry {
  kind: 'notification';
  at: number;
  tenant: string;
  fingerprint: string;
  labels: Record<string, string>;
  status: 'firing' | 'resolved';
  /** Receiver name, or `alertmanager:<url>` for a push. */
  receiver: string;
  /** delivered, failed (will retry), dead-lettered or superseded (a newer notification replaced it unsent). */
  outcome: 'delivered' | 'failed' | 'dead-lettered' | 'superseded';
  idempotencyKey: string | null;
  reason: string | null;
}

/** One alert history entry. */
export type HistoryEntry = TransitionEntry | NotificationEntry;

/** A history query; times inclusive, epoch ms. */
export interface HistoryQuery {
  from: number;
  to: number;
  connector?: string;
  /** Most entries returned (oldest first within the range). */
  limit: number;
}

/** Retention of the history: entries older than `retentionMs` and beyond `maxEntries` per tenant are dropped. */
export interface HistoryLimits {
  /** Keep entries this long, ms (default 7 days). */
  retentionMs: number;
  /** Most entries kept per tenant (default 10 000); the oldest go first. */
  maxEntries: number;
}

/** Defaults: 7 days, 10 000 entries per tenant. */
export const HISTORY_DEFAULTS: HistoryLimits = { retentionMs: 7 * 86_400_000, maxEntries: 10_000 };

/** Alert history per tenant, bounded by time and count. A memory and a Redis implementation share one contract test. */
export interface AlertHistoryStore {
  append(entries: HistoryEntry[]): Promise<void>;
  /** Entries of `tenant` in [from, to], oldest first, at most `limit`. */
  query(tenant: string, q: HistoryQuery): Promise<HistoryEntry[]>;
}

const matches = (e: HistoryEntry, q: HistoryQuery): boolean => e.at >= q.from && e.at <= q.to && (q.connector === undefined || e.labels.connector === q.connector);

function byTenant(entries: HistoryEntry[]): Map<string, HistoryEntry[]> {
  const out = new Map<string, HistoryEntry[]>();
  for (const e of entries) out.set(e.tenant, [...(out.get(e.tenant) ?? []), e]);
  return out;
}

/** In-process history (embedded mode). */
export class MemoryAlertHistoryStore implements AlertHistoryStore {
  private readonly logs = new Map<string, HistoryEntry[]>();

  constructor(
    private readonly limits: HistoryLimits = HISTORY_DEFAULTS,
    private readonly clock: () => number = Date.now,
  ) {}

  async append(entries: HistoryEntry[]): Promise<void> {
    const cutoff = this.clock() - this.limits.retentionMs;
    for (const [tenant, list] of byTenant(entries)) {
      const log = [...(this.logs.get(tenant) ?? []), ...list].filter((e) => e.at >= cutoff);
      // Stable sort by time keeps insertion order among equal times, as the Redis member order does.
      log.sort((a, b) => a.at - b.at);
      this.logs.set(tenant, log.slice(Math.max(0, log.length - this.limits.maxEntries)));
    }
  }

  async query(tenant: string, q: HistoryQuery): Promise<HistoryEntry[]> {
    const cutoff = this.clock() - this.limits.retentionMs;
    return (this.logs.get(tenant) ?? []).filter((e) => e.at >= cutoff && matches(e, q)).slice(0, q.limit);
  }
}

// KEYS: the tenant's sorted set, its sequence counter. ARGV: cutoff, maxEntries, then score/entry
// pairs. Members start with a 16-digit sequence number: Redis orders equal scores by member, so
// entries of one millisecond stay in insertion order and equal entries stay distinct.
const APPEND = `
for i = 3, #ARGV, 2 do
  local seq = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[1], ARGV[i], string.format('%016d', seq) .. ARGV[i + 1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
return 1`;

/** Most entries scanned by one query (a connector filter reads at most this many before filtering). */
const MAX_SCAN = 20_000;
/** Length of the sequence prefix of a member. */
const SEQ = 16;

/**
 * History in Redis: one sorted set per tenant scored by time, under the tenant's hash tag
 * `{t:<tenant>}` (the same slot as its alerts), with a sequence counter next to it.
 */
export class RedisAlertHistoryStore implements AlertHistoryStore {
  constructor(
    private readonly client: Redis | Cluster,
    private readonly limits: HistoryLimits = HISTORY_DEFAULTS,
    private readonly clock: () => number = Date.now,
    private readonly prefix = 'pg:ad',
  ) {}

  /** The tenant's key. */
  key(tenant: string): string {
    return `${this.prefix}:{t:${encodeURIComponent(tenant)}}:alert-history`;
  }

  async append(entries: HistoryEntry[]): Promise<void> {
    const cutoff = this.clock() - this.limits.retentionMs;
    for (const [tenant, list] of byTenant(entries)) {
      const args: (string | number)[] = [cutoff, this.limits.maxEntries];
      for (const e of list) args.push(e.at, JSON.stringify(e));
      await this.client.eval(APPEND, 2, this.key(tenant), `${this.key(tenant)}:seq`, ...args);
    }
  }

  async query(tenant: string, q: HistoryQuery): Promise<HistoryEntry[]> {
    const from = Math.max(q.from, this.clock() - this.limits.retentionMs);
    if (from > q.to) return [];
    const raw = await this.client.zrangebyscore(this.key(tenant), from, q.to, 'LIMIT', 0, q.connector === undefined ? q.limit : MAX_SCAN);
    const out: HistoryEntry[] = [];
    for (const m of raw) {
      const e = JSON.parse(m.slice(SEQ)) as HistoryEntry;
      if (matches(e, q)) out.push(e);
      if (out.length >= q.limit) break;
    }
    return out;
  }
}

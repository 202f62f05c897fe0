import type { Cluster, Redis } from 'ioredis';
import type { ConnectorEntry, VersionInput } from '../catalog/types';
import { sortVersions } from './sort';
import { MAX_ALERTS_KEPT, MAX_DECISIONS_KEPT, MAX_RELEASES_KEPT } from './types';
import type { AlertRecord, Assessment, GateDecision, ReleaseRecord, RiskStore, SeriesRecord } from './types';

/**
 * Every key of a tenant carries the tenant as a hash tag, so a tenant's keys share one Redis
 * Cluster slot and multi-key scripts work. The tenant is URI-encoded so "{" "}" cannot break the tag.
 */
export function riskKey(tenant: string, ...parts: string[]): string {
  return ['pulsegate', 'risk', `{${encodeURIComponent(tenant)}}`, ...parts.map(encodeURIComponent)].join(':');
}

type Meta = Omit<ConnectorEntry, 'versions' | 'updatedAt'>;

// Only newer snapshots replace older ones (a redelivered batch must not roll metrics back).
const PUT_SERIES = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local at = tonumber(string.match(cur, '"at":(%d+)'))
  if at and at > tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`;

const PUT_VERSION = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
return 1`;

/** RiskStore on Redis or Redis Cluster (ioredis client owned by the caller unless `ownsClient`). */
export class RedisRiskStore implements RiskStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly options: { ownsClient?: boolean } = {},
  ) {}

  async putConnector(tenant: string, entry: ConnectorEntry): Promise<void> {
    const meta: Meta = { connector: entry.connector, owner: entry.owner, classification: entry.classification, authMethod: entry.authMethod, scopes: entry.scopes };
    const versionsKey = riskKey(tenant, 'versions', entry.connector);
    const tx = this.redis.multi().hset(riskKey(tenant, 'connectors'), entry.connector, JSON.stringify(meta)).del(versionsKey);
    for (const v of entry.versions) tx.hset(versionsKey, v.version, JSON.stringify(v));
    tx.hset(riskKey(tenant, 'updated'), entry.connector, String(entry.updatedAt));
    await tx.exec();
  }

  async putVersion(tenant: string, connector: string, version: VersionInput, updatedAt: number): Promise<ConnectorEntry | null> {
    const ok = await this.redis.eval(
      PUT_VERSION,
      3,
      riskKey(tenant, 'connectors'),
      riskKey(tenant, 'versions', connector),
      riskKey(tenant, 'updated'),
      connector,
      version.version,
      JSON.stringify(version),
      String(updatedAt),
    );
    return ok === 1 ? this.getConnector(tenant, connector) : null;
  }

  async getConnector(tenant: string, connector: string): Promise<ConnectorEntry | null> {
    const [meta, versions, updated] = await Promise.all([
      this.redis.hget(riskKey(tenant, 'connectors'), connector),
      this.redis.hvals(riskKey(tenant, 'versions', connector)),
      this.redis.hget(riskKey(tenant, 'updated'), connector),
    ]);
    if (meta === null) return null;
    return { ...(JSON.parse(meta) as Meta), versions: sortVersions(versions.map((v) => JSON.parse(v) as VersionInput)), updatedAt: Number(updated ?? 0) };
  }

  async listConnectors(tenant: string): Promise<ConnectorEntry[]> {
    const names = await this.redis.hkeys(riskKey(tenant, 'connectors'));
    const entries = await Promise.all(names.sort().map((n) => this.getConnector(tenant, n)));
    return entries.filter((e): e is ConnectorEntry => e !== null);
  }

  async putAssessment(tenant: string, a: Assessment): Promise<void> {
    await this.redis.hset(riskKey(tenant, 'assessments', a.connector), a.version, JSON.stringify(a));
  }

  async getAssessment(tenant: string, connector: string, version: string): Promise<Assessment | null> {
    const v = await this.redis.hget(riskKey(tenant, 'assessments', connector), version);
    return v === null ? null : (JSON.parse(v) as Assessment);
  }

  async putSeries(tenant: string, connector: string, version: string, s: SeriesRecord): Promise<void> {
    await this.redis.eval(PUT_SERIES, 1, riskKey(tenant, 'series', connector, version), `${s.kind}\u001f${s.action}`, String(Math.trunc(s.at)), JSON.stringify({ at: Math.trunc(s.at), action: s.action, kind: s.kind, window: s.window }));
  }

  async seriesOf(tenant: string, connector: string, version: string): Promise<SeriesRecord[]> {
    return (await this.redis.hvals(riskKey(tenant, 'series', connector, version))).map((v) => JSON.parse(v) as SeriesRecord);
  }

  async addAlert(tenant: string, connector: string, version: string, alert: AlertRecord): Promise<void> {
    const key = riskKey(tenant, 'alerts', connector, version);
    if ((await this.redis.hlen(key)) >= MAX_ALERTS_KEPT) return;
    await this.redis.hset(key, `${alert.fingerprint}\u001f${alert.startsAt}`, JSON.stringify(alert));
  }

  async alertsOf(tenant: string, connector: string, version: string): Promise<AlertRecord[]> {
    return (await this.redis.hvals(riskKey(tenant, 'alerts', connector, version))).map((v) => JSON.parse(v) as AlertRecord);
  }

  async appendReleases(tenant: string, records: ReleaseRecord[]): Promise<void> {
    if (records.length === 0) return;
    const key = riskKey(tenant, 'releases');
    await this.redis.multi().lpush(key, ...records.map((r) => JSON.stringify(r))).ltrim(key, 0, MAX_RELEASES_KEPT - 1).exec();
  }

  async releases(tenant: string): Promise<ReleaseRecord[]> {
    return (await this.redis.lrange(riskKey(tenant, 'releases'), 0, -1)).map((v) => JSON.parse(v) as ReleaseRecord);
  }

  async appendDecision(tenant: string, decision: GateDecision): Promise<void> {
    const key = riskKey(tenant, 'decisions', decision.connector);
    await this.redis.multi().lpush(key, JSON.stringify(decision)).ltrim(key, 0, MAX_DECISIONS_KEPT - 1).exec();
  }

  async decisions(tenant: string, connector: string, limit: number): Promise<GateDecision[]> {
    if (limit <= 0) return [];
    return (await this.redis.lrange(riskKey(tenant, 'decisions', connector), 0, limit - 1)).map((v) => JSON.parse(v) as GateDecision);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.options.ownsClient === true && this.redis.status !== 'end') await this.redis.quit().catch(() => undefined);
  }
}

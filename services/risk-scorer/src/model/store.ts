import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { riskKey } from '../store/redis-store';
import type { ModelMetrics, RiskModel } from './logistic';

/** A saved model as listed (no weights). */
export interface ModelSummary {
  version: string;
  createdAt: number;
  features: string[];
  metrics: ModelMetrics;
  active: boolean;
}

/** Saved models of each tenant and which one scores (the active one). */
export interface ModelStore {
  /** Saves and activates `model`. */
  save(tenant: string, model: RiskModel): Promise<void>;
  get(tenant: string, version: string): Promise<RiskModel | null>;
  /** Newest first. */
  list(tenant: string): Promise<ModelSummary[]>;
  active(tenant: string): Promise<RiskModel | null>;
  /** Makes `version` the active model (rollback); false when there is no such model. */
  activate(tenant: string, version: string): Promise<boolean>;
}

function summarise(models: RiskModel[], active: string | null): ModelSummary[] {
  return models
    .sort((a, b) => b.createdAt - a.createdAt || (a.version < b.version ? 1 : -1))
    .map((m) => ({ version: m.version, createdAt: m.createdAt, features: m.features, metrics: m.metrics, active: m.version === active }));
}

const VERSION_RE = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Models as JSON files, for the embedded mode: `<dir>/<tenant>/<version>.json` plus `active`.
 * Writes go to a temporary file renamed into place, so a crash never leaves half a model.
 */
export class FileModelStore implements ModelStore {
  constructor(private readonly dir: string) {}

  private tenantDir(tenant: string): string {
    return join(this.dir, encodeURIComponent(tenant));
  }

  private async writeAtomic(path: string, text: string): Promise<void> {
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, path);
  }

  async save(tenant: string, model: RiskModel): Promise<void> {
    const dir = this.tenantDir(tenant);
    await mkdir(dir, { recursive: true });
    await this.writeAtomic(join(dir, `${model.version}.json`), JSON.stringify(model));
    await this.writeAtomic(join(dir, 'active'), model.version);
  }

  async get(tenant: string, version: string): Promise<RiskModel | null> {
    if (!VERSION_RE.test(version)) return null;
    try {
      return JSON.parse(await readFile(join(this.tenantDir(tenant), `${version}.json`), 'utf8')) as RiskModel;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  private async activeVersion(tenant: string): Promise<string | null> {
    try {
      return (await readFile(join(this.tenantDir(tenant), 'active'), 'utf8')).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async list(tenant: string): Promise<ModelSummary[]> {
    let names: string[];
    try {
      names = await readdir(this.tenantDir(tenant));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const models = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => this.get(tenant, n.slice(0, -5))));
    return summarise(models.filter((m): m is RiskModel => m !== null), await this.activeVersion(tenant));
  }

  async active(tenant: string): Promise<RiskModel | null> {
    const v = await this.activeVersion(tenant);
    return v === null ? null : this.get(tenant, v);
  }

  async activate(tenant: string, version: string): Promise<boolean> {
    if ((await this.get(tenant, version)) === null) return false;
    await this.writeAtomic(join(this.tenantDir(tenant), 'active'), version);
    return true;
  }
}

/**
 * Models in this process only (the default without Redis or RISK_MODEL_DIR): two instances never
 * see each other's models, and a restart starts without one, like the other in-memory stores.
 */
export class MemoryModelStore implements ModelStore {
  private readonly tenants = new Map<string, { models: Map<string, RiskModel>; active: string | null }>();

  private tenant(tenant: string): { models: Map<string, RiskModel>; active: string | null } {
    let t = this.tenants.get(tenant);
    if (t === undefined) this.tenants.set(tenant, (t = { models: new Map(), active: null }));
    return t;
  }

  async save(tenant: string, model: RiskModel): Promise<void> {
    const t = this.tenant(tenant);
    t.models.set(model.version, structuredClone(model));
    t.active = model.version;
  }

  async get(tenant: string, version: string): Promise<RiskModel | null> {
    const m = this.tenants.get(tenant)?.models.get(version);
    return m === undefined ? null : structuredClone(m);
  }

  async list(tenant: string): Promise<ModelSummary[]> {
    const t = this.tenants.get(tenant);
    return t === undefined ? [] : summarise([...t.models.values()], t.active);
  }

  async active(tenant: string): Promise<RiskModel | null> {
    const v = this.tenants.get(tenant)?.active;
    return v === undefined || v === null ? null : this.get(tenant, v);
  }

  async activate(tenant: string, version: string): Promise<boolean> {
    const t = this.tenants.get(tenant);
    if (t === undefined || !t.models.has(version)) return false;
    t.active = version;
    return true;
  }
}

/** Models in Redis (distributed mode): one hash of versions and one active pointer per tenant. */
export class RedisModelStore implements ModelStore {
  constructor(private readonly redis: Redis | Cluster) {}

  async save(tenant: string, model: RiskModel): Promise<void> {
    await this.redis.multi().hset(riskKey(tenant, 'models'), model.version, JSON.stringify(model)).set(riskKey(tenant, 'model-active'), model.version).exec();
  }

  async get(tenant: string, version: string): Promise<RiskModel | null> {
    const v = await this.redis.hget(riskKey(tenant, 'models'), version);
    return v === null ? null : (JSON.parse(v) as RiskModel);
  }

  async list(tenant: string): Promise<ModelSummary[]> {
    const [all, active] = await Promise.all([this.redis.hvals(riskKey(tenant, 'models')), this.redis.get(riskKey(tenant, 'model-active'))]);
    return summarise(all.map((v) => JSON.parse(v) as RiskModel), active);
  }

  async active(tenant: string): Promise<RiskModel | null> {
    const v = await this.redis.get(riskKey(tenant, 'model-active'));
    return v === null ? null : this.get(tenant, v);
  }

  async activate(tenant: string, version: string): Promise<boolean> {
    if (!(await this.redis.hexists(riskKey(tenant, 'models'), version))) return false;
    await this.redis.set(riskKey(tenant, 'model-active'), version);
    return true;
  }
}

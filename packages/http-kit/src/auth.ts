import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { forbidden, HttpError, unauthorized } from './errors';
import { DEFAULT_RATE_LIMIT_PER_MINUTE, RateLimiter, type RateLimit } from './rate-limit';

/** Scopes an API key can carry. */
export const SCOPES = ['ingest', 'metrics.read', 'alerts.read', 'alerts.write', 'risk.read', 'risk.write', 'catalog.read', 'catalog.write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** A configured key: only its SHA-256 is kept in memory. */
export interface ApiKeyEntry {
  /** Hex SHA-256 of the key. */
  sha256: string;
  tenant: string;
  scopes: Scope[];
  /** Free-form name shown in audit logs instead of the key. */
  name: string;
  /** Request budget of this key; absent means the ring's default (PULSEGATE_RATE_LIMIT_PER_MINUTE, else 6000/min). */
  rateLimit?: RateLimit;
}

export interface Principal {
  tenant: string;
  scopes: ReadonlySet<string>;
  keyName: string;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Reads a rate-limit number (requests per minute or burst): a non-negative integer. */
function limitNumber(v: unknown, what: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 100_000_000) throw new Error(`${what} must be an integer from 0 (unlimited) to 100000000`);
  return n;
}

/**
 * Parses PULSEGATE_API_KEYS: a JSON array of `{key | sha256, tenant, scopes?, name?,
 * rateLimitPerMinute?, rateLimitBurst?}`. Plain keys are hashed at once. Two entries for one
 * client is how keys rotate without downtime. Keys without `rateLimitPerMinute` get
 * `defaultPerMinute` (default: env PULSEGATE_RATE_LIMIT_PER_MINUTE, else 6000; 0 = unlimited).
 */
export function parseApiKeys(text: string | undefined, defaultPerMinute: string | number | undefined = process.env.PULSEGATE_RATE_LIMIT_PER_MINUTE): ApiKeyEntry[] {
  if (text === undefined || text.trim() === '') return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('PULSEGATE_API_KEYS: not valid JSON (expected an array of {key|sha256, tenant, scopes})');
  }
  if (!Array.isArray(raw)) throw new Error('PULSEGATE_API_KEYS: must be a JSON array');
  return raw.map((e: unknown, i: number) => {
    const o = e as Record<string, unknown>;
    if (typeof o !== 'object' || o === null) throw new Error(`PULSEGATE_API_KEYS[${i}]: must be an object`);
    const sha = typeof o.sha256 === 'string' ? o.sha256.toLowerCase() : typeof o.key === 'string' ? hashKey(o.key) : undefined;
    if (sha === undefined || !/^[0-9a-f]{64}$/.test(sha)) throw new Error(`PULSEGATE_API_KEYS[${i}]: needs "key" or a 64-hex "sha256"`);
    if (typeof o.tenant !== 'string' || o.tenant === '') throw new Error(`PULSEGATE_API_KEYS[${i}]: needs a non-empty "tenant"`);
    const scopes = o.scopes === undefined ? [...SCOPES] : o.scopes;
    if (!Array.isArray(scopes) || scopes.some((s) => !(SCOPES as readonly string[]).includes(s as string))) {
      throw new Error(`PULSEGATE_API_KEYS[${i}]: "scopes" must be a list of ${SCOPES.join(', ')}`);
    }
    const perMinute =
      o.rateLimitPerMinute !== undefined
        ? limitNumber(o.rateLimitPerMinute, `PULSEGATE_API_KEYS[${i}].rateLimitPerMinute`)
        : defaultPerMinute === undefined || defaultPerMinute === ''
          ? DEFAULT_RATE_LIMIT_PER_MINUTE
          : limitNumber(defaultPerMinute, 'PULSEGATE_RATE_LIMIT_PER_MINUTE');
    const burst = o.rateLimitBurst !== undefined ? limitNumber(o.rateLimitBurst, `PULSEGATE_API_KEYS[${i}].rateLimitBurst`) : perMinute;
    return { sha256: sha, tenant: o.tenant, scopes: scopes as Scope[], name: typeof o.name === 'string' ? o.name : `key-${i}`, rateLimit: { perMinute, burst } };
  });
}

/** KeyRing options. */
export interface KeyRingOptions {
  /** Clock for the rate limiter, epoch ms. Default Date.now. */
  now?: () => number;
  /** Budget for entries built without one (not through parseApiKeys). Default 6000/min, burst 6000. */
  defaultRateLimit?: RateLimit;
}

/** Looks keys up by hash in constant time per candidate, and keeps each key's rate-limit bucket. */
export class KeyRing {
  private readonly byHash = new Map<string, ApiKeyEntry>();
  private readonly limiter: RateLimiter;
  private readonly defaultRateLimit: RateLimit;
  constructor(entries: ApiKeyEntry[], readonly defaultTenant = 'default', options: KeyRingOptions = {}) {
    for (const e of entries) this.byHash.set(e.sha256, e);
    this.limiter = new RateLimiter(options.now);
    this.defaultRateLimit = options.defaultRateLimit ?? { perMinute: DEFAULT_RATE_LIMIT_PER_MINUTE, burst: DEFAULT_RATE_LIMIT_PER_MINUTE };
  }
  /** Spends one request of `entry`'s budget; a refusal says how long to wait, seconds. */
  consume(entry: ApiKeyEntry): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    return this.limiter.take(entry.sha256, entry.rateLimit ?? this.defaultRateLimit);
  }
  get enabled(): boolean {
    return this.byHash.size > 0;
  }
  lookup(key: string): ApiKeyEntry | undefined {
    const h = hashKey(key);
    const found = this.byHash.get(h);
    if (found === undefined) return undefined;
    return timingSafeEqual(Buffer.from(found.sha256, 'hex'), Buffer.from(h, 'hex')) ? found : undefined;
  }
}

/** The key from `Authorization: Bearer …` or `x-api-key`. */
export function presentedKey(req: Request): string | undefined {
  const auth = req.get('authorization');
  if (auth !== undefined) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m !== null) return m[1];
  }
  return req.get('x-api-key') ?? undefined;
}

/** The authenticated caller of a request (set by `authenticate`). */
export function principalOf(req: Request): Principal {
  const p = (req as Request & { principal?: Principal }).principal;
  if (p === undefined) throw new Error('authenticate() middleware missing');
  return p;
}

/**
 * Middleware requiring a key with `scope`, within the key's rate limit (429 RATE_LIMIT with
 * Retry-After otherwise). With no keys configured every caller is the default tenant with all
 * scopes and no limit (services refuse that on a non-loopback bind unless allowed explicitly).
 */
export function authenticate(ring: KeyRing, scope: Scope) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!ring.enabled) {
      (req as Request & { principal?: Principal }).principal = { tenant: ring.defaultTenant, scopes: new Set(SCOPES), keyName: 'anonymous' };
      return next();
    }
    const key = presentedKey(req);
    const entry = key === undefined ? undefined : ring.lookup(key);
    if (entry === undefined) return next(unauthorized());
    // Counted before the scope check: a refused request still costs the server work.
    const budget = ring.consume(entry);
    if (!budget.allowed) {
      return next(new HttpError(429, 'RATE_LIMIT', `rate limit of API key ${entry.name} exceeded; retry after ${budget.retryAfterSeconds} s`, { retryAfterSeconds: budget.retryAfterSeconds }));
    }
    if (!entry.scopes.includes(scope) && !entry.scopes.includes('admin')) return next(forbidden(`API key lacks scope ${scope}`));
    (req as Request & { principal?: Principal }).principal = { tenant: entry.tenant, scopes: new Set(entry.scopes), keyName: entry.name };
    next();
  };
}

/** True when binding `host` exposes the service beyond this machine. */
export function isNonLoopback(host: string): boolean {
  return !(host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.'));
}

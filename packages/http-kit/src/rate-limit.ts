/** Default per-key request budget when neither the key entry nor the environment sets one, requests per minute. */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 6000;

/** A key's budget: `perMinute` tokens refilled evenly over a minute, at most `burst` saved up. */
export interface RateLimit {
  /** Sustained requests per minute; 0 means unlimited. */
  perMinute: number;
  /** Largest burst, requests. Default `perMinute`. */
  burst: number;
}

/** The outcome of taking one token: allowed, or refused with the wait until a token is back. */
export type TakeResult = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets keyed by API-key hash, in this process's memory (each replica limits on its own;
 * a client talking to N replicas gets up to N times the budget). The clock is injected for tests.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one token from `id`'s bucket under `limit`. */
  take(id: string, limit: RateLimit): TakeResult {
    if (limit.perMinute <= 0) return { allowed: true };
    const perMs = limit.perMinute / 60_000;
    const capacity = Math.max(1, limit.burst);
    const t = this.now();
    const b = this.buckets.get(id) ?? { tokens: capacity, at: t };
    b.tokens = Math.min(capacity, b.tokens + Math.max(0, t - b.at) * perMs);
    b.at = t;
    this.buckets.set(id, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true };
    }
    // Whole seconds, at least 1, as Retry-After (RFC 9110 §10.2.3) carries delay-seconds.
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000)) };
  }
}

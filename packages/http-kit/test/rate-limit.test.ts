import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../src/rate-limit';

describe('RateLimiter (token bucket per key)', () => {
  it('allows the burst, then refuses with the exact wait until one token is back', () => {
    let now = 1_000_000;
    const rl = new RateLimiter(() => now);
    const limit = { perMinute: 6, burst: 3 }; // one token every 10 s
    expect([rl.take('a', limit), rl.take('a', limit), rl.take('a', limit)]).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }]);
    expect(rl.take('a', limit)).toEqual({ allowed: false, retryAfterSeconds: 10 });
    now += 4_000; // 0.4 token back: 6 s still to wait
    expect(rl.take('a', limit)).toEqual({ allowed: false, retryAfterSeconds: 6 });
    now += 6_000;
    expect(rl.take('a', limit)).toEqual({ allowed: true });
    expect(rl.take('a', limit).allowed).toBe(false);
  });

  it('keeps one bucket per key and never saves up beyond the burst', () => {
    let now = 0;
    const rl = new RateLimiter(() => now);
    const limit = { perMinute: 60, burst: 2 };
    expect(rl.take('a', limit).allowed).toBe(true);
    expect(rl.take('a', limit).allowed).toBe(true);
    expect(rl.take('a', limit).allowed).toBe(false);
    expect(rl.take('b', limit).allowed).toBe(true); // b has its own bucket
    now += 3_600_000; // an hour idle refills to the burst (2), not to 3600
    const taken = Array.from({ length: 5 }, () => rl.take('a', limit).allowed);
    expect(taken).toEqual([true, true, false, false, false]);
  });

  it('treats perMinute 0 as unlimited and reports at least 1 s', () => {
    const rl = new RateLimiter(() => 0);
    for (let i = 0; i < 1000; i++) expect(rl.take('x', { perMinute: 0, burst: 0 }).allowed).toBe(true);
    const fast = { perMinute: 600_000, burst: 1 }; // a token every 0.1 ms
    expect(rl.take('y', fast)).toEqual({ allowed: true });
    expect(rl.take('y', fast)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });
});

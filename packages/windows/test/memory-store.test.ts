import { describe, expect, it } from 'vitest';
import { DEFAULT_WINDOW_CONFIG } from '../src/config';
import { HOUR_MS, MINUTE_MS } from '../src/keys';
import { MemoryWindowStore } from '../src/memory-store';
import { planRange } from '../src/reader';
import { windowStoreContract } from './store-contract';

windowStoreContract('memory', async ({ config, clock }) => new MemoryWindowStore({ config, clock }));

describe('planRange', () => {
  const cfg = { ...DEFAULT_WINDOW_CONFIG, minuteRetentionMs: 2 * HOUR_MS };
  const now = 100 * HOUR_MS + 30 * MINUTE_MS + 30_000;
  it('uses whole hours where they fit and minutes at the recent edges', () => {
    const p = planRange(now - 2 * HOUR_MS - 10 * MINUTE_MS, now, now, { ...cfg, minuteRetentionMs: 6 * HOUR_MS });
    expect(p.from).toBe(98 * HOUR_MS + 20 * MINUTE_MS);
    expect(p.to).toBe(now + 30_000);
    expect(p.pieces.filter((x) => x.resolution === 'h')).toEqual([{ resolution: 'h', start: 99 * HOUR_MS }]);
    const covered = p.pieces.reduce((a, x) => a + (x.resolution === 'h' ? HOUR_MS : MINUTE_MS), 0);
    expect(covered).toBe(p.to - p.from);
  });
  it('covers only whole hours before the minute floor and reports the widened range', () => {
    const from = 95 * HOUR_MS + 31 * MINUTE_MS;
    const to = 97 * HOUR_MS + 31 * MINUTE_MS;
    const p = planRange(from, to, now, cfg);
    expect(p).toEqual({ from: 95 * HOUR_MS, to: 98 * HOUR_MS, pieces: [95, 96, 97].map((h) => ({ resolution: 'h', start: h * HOUR_MS })) });
    const straddle = planRange(98 * HOUR_MS + 10 * MINUTE_MS, 99 * HOUR_MS + 5 * MINUTE_MS, now, cfg);
    expect(straddle.from).toBe(98 * HOUR_MS);
    expect(straddle.pieces[0]).toEqual({ resolution: 'h', start: 98 * HOUR_MS });
    expect(straddle.pieces.slice(1).every((x) => x.resolution === 'm' && x.start >= 99 * HOUR_MS)).toBe(true);
    expect(straddle.to).toBe(99 * HOUR_MS + 5 * MINUTE_MS);
  });
});

import { describe, expect, it } from 'vitest';
import { seededRandom } from '@pulsegate/random';
import { evaluateBurnAlerts, normalSeries, replay } from '../../src/slo/burn-eval';

describe('burn-rate evaluation on generated data (fixed seeds)', () => {
  it('pages threshold burns only at the workbook detection times for threshold burns', async () => {
    const r = await evaluateBurnAlerts({ seed: 3, days: 3, levels: [2, 200, 2000], repeats: 2, cleanDays: 1 });
    // Normal traffic with daily blips: no page in 9 series-days.
    expect(r.falsePages).toBe(0);
    // A burn exactly at 14.4x can only meet the 1 h condition once the hour is (almost) all bad;
    // one at 6x needs (almost) the whole 6 h. Pages never come early by more than binomial noise.
    for (const m of r.incidents['2% budget in 1h (14.4x)']!.minutes) expect(m).toBeGreaterThanOrEqual(45);
    for (const m of r.incidents['5% budget in 6h (6x)']!.minutes) expect(m).toBeGreaterThanOrEqual(300);
    expect(r.incidents['2% budget in 1h (14.4x)']!.total).toBe(4);
  });

  it('a total outage pages in its second block; one failed call on a quiet series never pages', async () => {
    const random = seededRandom(11);
    const s = normalSeries(random, 'busy', 500, 24 * 12 + 24);
    for (let b = 24 * 12; b < s.calls.length; b++) s.failureP[b] = 1;
    // 100 % failures burn at 100x: the 1 h window crosses 14.4x after 14.4 / 100 h = 8.6 min, i.e. at
    // the end of the outage's second 5-minute block.
    expect((await replay(s, random)).pages).toEqual([24 * 12 + 1]);
    const quiet = { name: 'quiet', calls: Array.from({ length: 48 }, () => 1), failureP: Array.from({ length: 48 }, (_, b) => (b === 20 ? 1 : 0)) };
    expect((await replay(quiet, random)).pages).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { generateTraffic } from '../../src/canary/traffic';
import { judgeCanary } from '../../src/canary/verdict';

const count = (seeds: number, fn: (s: number) => boolean): number => {
  let n = 0;
  for (let s = 1; s <= seeds; s++) if (fn(s)) n++;
  return n;
};

describe('judgeCanary on generated traffic with known effects', () => {
  // Error bounds: with a true power of 0.99 the chance of < 90 of 100 detections is < 1e-4; with a
  // true false-fail rate of 0.01 the chance of > 5 of 100 is < 1e-3 (binomial tails).
  it('detects a 20 % P95 regression at 2 000 calls per side in at least 90 % of seeds', () => {
    const detected = count(100, (s) => judgeCanary({ ListInvoices: generateTraffic({ calls: 2000 }, 2 * s) }, { ListInvoices: generateTraffic({ calls: 2000, scale: 1.2 }, 2 * s + 1) }).verdict === 'fail');
    expect(detected).toBeGreaterThanOrEqual(90);
  });

  it('fails a no-change pair in at most 5 % of seeds', () => {
    const falseFails = count(100, (s) => judgeCanary({ ListInvoices: generateTraffic({ calls: 2000 }, 2 * s) }, { ListInvoices: generateTraffic({ calls: 2000 }, 2 * s + 1) }).verdict === 'fail');
    expect(falseFails).toBeLessThanOrEqual(5);
  });

  it('is inconclusive below the call floor and when the baseline has no data, with the reason', () => {
    const v = judgeCanary({ A: generateTraffic({ calls: 300 }, 1) }, { A: generateTraffic({ calls: 300, scale: 2 }, 2) });
    expect(v.verdict).toBe('inconclusive');
    expect(v.actions[0]!.metrics.map((m) => m.reason)).toEqual(['baseline has 300 calls, fewer than 500', 'baseline has 300 calls, fewer than 500', 'baseline has 300 calls, fewer than 500']);
    const noControl = judgeCanary({}, { A: generateTraffic({ calls: 5000 }, 3) });
    expect(noControl.verdict).toBe('inconclusive');
    expect(noControl.actions[0]).toMatchObject({ action: 'A', baselineCalls: 0, verdict: 'inconclusive' });
  });

  it('sparse errors: 0 vs 0 passes, 0 vs 30 of 2 000 fails with the exact test', () => {
    const a = { calls: 2000, errors: 0, throttled: 0 };
    expect(judgeCanary({ A: a }, { A: { ...a } }).verdict).toBe('pass');
    const v = judgeCanary({ A: a }, { A: { ...a, errors: 30 } });
    const m = v.actions[0]!.metrics.find((x) => x.metric === 'errorRate')!;
    expect(m).toMatchObject({ verdict: 'fail', baseline: 0, candidate: 0.015, statistic: 30 });
    expect(m.pValue).toBeCloseTo(0.5 ** 30, 15);
    // Significant but below the practical difference: pass, with the reason.
    const small = judgeCanary({ A: { calls: 200_000, errors: 200, throttled: 0 } }, { A: { calls: 200_000, errors: 400, throttled: 0 } }).actions[0]!.metrics[0]!;
    expect(small.verdict).toBe('pass');
    expect(small.reason).toMatch(/significant but below the practical difference/);
  });

  it('a variance increase alone that leaves P95 within the practical difference passes; one that lifts P95 fails', () => {
    // sigma 0.5 -> 0.55 with the median lowered so P95 rises < 10 %: rank shift down, tail up a little.
    const spared = count(20, (s) => judgeCanary({ A: generateTraffic({ calls: 4000 }, 2 * s) }, { A: generateTraffic({ calls: 4000, sigma: 0.55, medianMs: 185 }, 2 * s + 1) }).verdict === 'fail');
    expect(spared).toBeLessThanOrEqual(1);
    const lifted = count(20, (s) => judgeCanary({ A: generateTraffic({ calls: 4000 }, 2 * s) }, { A: generateTraffic({ calls: 4000, sigma: 0.7 }, 2 * s + 1) }).verdict === 'fail');
    expect(lifted).toBeGreaterThanOrEqual(19);
  });
});

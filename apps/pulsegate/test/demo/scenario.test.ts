import { describe, expect, it } from 'vitest';
import { backfill, BACKFILL, DEFAULT_TIMELINE, liveSecond, newVersionShare, NEW_VERSION, OLD_VERSION, rng, type DemoCall } from '../../src/demo';

const START = 1_700_000_000_000;

function play(seconds: number, seed = 1): DemoCall[][] {
  const random = rng(seed);
  return Array.from({ length: seconds }, (_, s) => liveSecond(DEFAULT_TIMELINE, s, START, random));
}

describe('demo scenario', () => {
  it('is deterministic for a seed and puts every call inside its second, in the past of the next one', () => {
    expect(play(60)).toEqual(play(60));
    expect(play(5, 1)).not.toEqual(play(5, 2));
    play(60).forEach((calls, s) => {
      expect(calls).toHaveLength(DEFAULT_TIMELINE.callsPerSecond);
      for (const c of calls) {
        expect(c.endMs).toBeGreaterThanOrEqual(START + s * 1000);
        expect(c.endMs).toBeLessThan(START + (s + 1) * 1000);
        expect(c.latencyMs).toBeGreaterThan(0);
        expect(c.method).toBe(c.action === 'ListInvoices' ? 'GET' : 'POST');
      }
    });
  });

  it('throttles ListInvoices only during the surge, enough for the ThrottleRateHigh rule (> 1 % of ≥ 50 calls in 1 h)', () => {
    const seconds = play(120);
    const { fromS, toS } = DEFAULT_TIMELINE.surge;
    const surge = seconds.slice(fromS, toS).flat().filter((c) => c.action === 'ListInvoices');
    const outside = [...seconds.slice(0, fromS), ...seconds.slice(toS)].flat();
    const share = surge.filter((c) => c.status === 429).length / surge.length;
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.5);
    expect(outside.filter((c) => c.status === 429).length / outside.length).toBeLessThan(0.01);
    expect(surge.filter((c) => c.status === 429).every((c) => c.errorCode === 'RATE_LIMIT')).toBe(true);
    // The old version's read series alone, with 30 minutes of backfill in its hour, still breaches.
    const history = backfill(30, START, rng(3)).filter((c) => c.action === 'ListInvoices' && c.version === OLD_VERSION);
    const hour = [...history, ...seconds.flat().filter((c) => c.action === 'ListInvoices' && c.version === OLD_VERSION)];
    expect(hour.filter((c) => c.status === 429).length / hour.length).toBeGreaterThan(0.015);
  });

  it('slows ListInvoices on the new version from the regression on, past the 750 ms read target at P95', () => {
    const seconds = play(120);
    const p95 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.ceil(0.95 * xs.length) - 1]!;
    const reads = (from: number, to: number, version: string): number[] =>
      seconds.slice(from, to).flat().filter((c) => c.action === 'ListInvoices' && c.version === version).map((c) => c.latencyMs);
    const from = DEFAULT_TIMELINE.regression.fromS;
    expect(p95(reads(from, 120, NEW_VERSION))).toBeGreaterThan(750);
    expect(p95(reads(from, 120, OLD_VERSION))).toBeLessThan(750);
    expect(p95(reads(0, from, NEW_VERSION).concat(reads(0, from, OLD_VERSION)))).toBeLessThan(750);
  });

  it('rolls 1.1 → 1.2 out from 10 % to 80 % and backfills mostly 1.1 at the documented rate', () => {
    expect(newVersionShare(DEFAULT_TIMELINE, 0)).toBeCloseTo(0.1, 12);
    expect(newVersionShare(DEFAULT_TIMELINE, 45)).toBeCloseTo(0.45, 12);
    expect(newVersionShare(DEFAULT_TIMELINE, 500)).toBeCloseTo(0.8, 12);
    const late = play(120).slice(90).flat();
    expect(late.filter((c) => c.version === NEW_VERSION).length / late.length).toBeGreaterThan(0.7);
    const history = backfill(10, START, rng(5));
    expect(history).toHaveLength(10 * 60 * BACKFILL.callsPerSecond);
    expect(history[0]!.endMs).toBe(START - 600_000);
    expect(history.every((c) => c.endMs < START)).toBe(true);
    expect(history.filter((c) => c.version === NEW_VERSION).length / history.length).toBeLessThan(0.1);
  });
});

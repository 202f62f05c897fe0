import { describe, expect, it } from 'vitest';
import { attainment, budgetRemaining, burnRate, errorBudget, timeToExhaustion } from '../../src/slo/budget';

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe('SLO budget arithmetic (reference values)', () => {
  it('attainment, budget, remaining and burn rate of 50 bad in 10 000 at 99 %', () => {
    const c = { total: 10_000, bad: 50 };
    expect(attainment(c)).toBeCloseTo(0.995, 12);
    expect(errorBudget(0.99)).toBeCloseTo(0.01, 12);
    // 50 bad of an allowance of 100: half the budget is left, spent at half the sustainable rate.
    expect(budgetRemaining(c, 0.99)).toBeCloseTo(0.5, 12);
    expect(burnRate(c, 0.99)).toBeCloseTo(0.5, 12);
  });

  it('overspending goes negative; no events spend nothing', () => {
    expect(budgetRemaining({ total: 1_000, bad: 30 }, 0.99)).toBeCloseTo(-2, 12);
    expect(budgetRemaining({ total: 0, bad: 0 }, 0.99)).toBe(1);
    expect(attainment({ total: 0, bad: 0 })).toBeNull();
    expect(burnRate({ total: 0, bad: 0 }, 0.99)).toBeNull();
  });

  it('workbook figures: 14.4× spends 2 % of a 30-day budget per hour and all of it in 50 h', () => {
    // bad share 14.4 % at 99 %: burn rate 14.4.
    expect(burnRate({ total: 1_000, bad: 144 }, 0.99)).toBeCloseTo(14.4, 12);
    expect((14.4 * HOUR) / (30 * DAY)).toBeCloseTo(0.02, 12);
    expect(timeToExhaustion(1, 14.4, 30 * DAY)).toBeCloseTo(50 * HOUR, 6);
    // 6× for 6 h spends 5 %.
    expect((6 * 6 * HOUR) / (30 * DAY)).toBeCloseTo(0.05, 12);
    expect(timeToExhaustion(0.5, 2, 30 * DAY)).toBeCloseTo(7.5 * DAY, 6);
    expect(timeToExhaustion(-0.1, 2, 30 * DAY)).toBe(0);
    expect(timeToExhaustion(0.5, 0, 30 * DAY)).toBeNull();
    expect(timeToExhaustion(0.5, null, 30 * DAY)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { decisionFor, levelFor, score } from '../../src/assess/levels';
import type { RiskModel } from '../../src/model/logistic';

const model: RiskModel = {
  version: 'm-test',
  createdAt: 0,
  features: ['breakingChanges', 'priorSuccessRate'],
  means: [1, 0.99],
  stdDevs: [2, 0.01],
  intercept: -1,
  weights: [0.8, -0.5],
  metrics: { auc: 0.8, accuracy: 0.8, brier: 0.1, trainRecords: 8, testRecords: 2, incidentShare: 0.5 },
  training: { numSteps: 1, stepSize: 1, seed: 1, testShare: 0.2 },
};

describe('levels and decisions', () => {
  it('cuts at 0.3 and 0.7 by default, boundaries belonging to the higher level', () => {
    expect(levelFor(0)).toBe('low');
    expect(levelFor(0.2999999)).toBe('low');
    expect(levelFor(0.3)).toBe('medium');
    expect(levelFor(0.6999999)).toBe('medium');
    expect(levelFor(0.7)).toBe('high');
    expect(levelFor(1)).toBe('high');
    expect(levelFor(0.25, { medium: 0.2, high: 0.5 })).toBe('medium');
    expect(levelFor(0.5, { medium: 0.2, high: 0.5 })).toBe('high');
  });

  it('maps levels to decisions; unknown never auto-promotes', () => {
    expect(decisionFor('low')).toBe('auto-promote');
    expect(decisionFor('medium')).toBe('require-approval');
    expect(decisionFor('high')).toBe('require-security-architect-approval');
    expect(decisionFor('unknown')).toBe('require-approval');
  });

  it('scores with reasons ordered by absolute contribution', () => {
    const s = score(model, { breakingChanges: 5, priorSuccessRate: 0.98 });
    // z = -1 + 0.8·(5−1)/2 + (−0.5)·(0.98−0.99)/0.01 = -1 + 1.6 + 0.5 = 1.1
    expect(s.probability).toBeCloseTo(1 / (1 + Math.exp(-1.1)), 12);
    expect(s.level).toBe('high');
    expect(s.decision).toBe('require-security-architect-approval');
    expect(s.reasons.map((r) => [r.feature, r.value])).toEqual([
      ['breakingChanges', 5],
      ['priorSuccessRate', 0.98],
    ]);
    expect(s.reasons[0]!.contribution).toBeCloseTo(1.6, 12);
    expect(s.reasons[1]!.contribution).toBeCloseTo(0.5, 12);
    expect(s.missing).toEqual([]);
  });

  it('fails closed without a model or with missing features', () => {
    const none = score(null, { breakingChanges: 0 });
    expect(none).toMatchObject({ probability: null, level: 'unknown', decision: 'require-approval', missing: [] });
    expect(none.reasons[0]!.note).toMatch(/no trained risk model/);
    const partial = score(model, { breakingChanges: 0 }, undefined, 'no metrics received for c 1.0.0');
    expect(partial).toMatchObject({ probability: null, level: 'unknown', decision: 'require-approval', missing: ['priorSuccessRate'] });
    expect(partial.reasons).toEqual([{ feature: 'priorSuccessRate', value: null, contribution: null, note: 'telemetry of the prior version is not available (no metrics received for c 1.0.0)' }]);
    expect(score(model, { priorSuccessRate: 1 }).reasons[0]!.note).toBe('feature not supplied');
  });
});

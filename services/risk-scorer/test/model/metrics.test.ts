import { describe, expect, it } from 'vitest';
import { seededRandom } from '@pulsegate/random';
import { accuracy, auc, brier } from '../../src/model/metrics';

/** Reference AUC: share of (positive, negative) pairs ranked right, ties counting one half. */
function pairwiseAuc(scores: number[], labels: number[]): number {
  let good = 0;
  let pairs = 0;
  labels.forEach((a, i) => {
    if (a !== 1) return;
    labels.forEach((b, j) => {
      if (b !== 0) return;
      pairs++;
      good += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    });
  });
  return good / pairs;
}

describe('metrics', () => {
  it('auc equals the pairwise definition, ties included', () => {
    const random = seededRandom(3);
    for (let trial = 0; trial < 20; trial++) {
      // Scores rounded to one decimal so ties are common.
      const scores = Array.from({ length: 60 }, () => Math.round(random() * 10) / 10);
      const labels = scores.map((s) => (random() < s ? 1 : 0));
      expect(auc(scores, labels)).toBeCloseTo(pairwiseAuc(scores, labels), 12);
    }
    expect(auc([0.1, 0.9], [0, 1])).toBe(1);
    expect(auc([0.9, 0.1], [0, 1])).toBe(0);
    expect(auc([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(auc([0.2, 0.3], [1, 1])).toBeNull();
  });

  it('accuracy and Brier score by hand', () => {
    expect(accuracy([0.2, 0.5, 0.7, 0.4], [0, 1, 0, 0])).toBe(0.75);
    expect(brier([0.2, 0.5, 0.7, 0.4], [0, 1, 0, 0])).toBeCloseTo((0.04 + 0.25 + 0.49 + 0.16) / 4, 15);
  });
});

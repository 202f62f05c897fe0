import LogisticRegression from 'ml-logistic-regression';
import { Matrix, solve } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GENERATING_MODEL, generateHistory } from '../../src/model/generator';
import { FEATURE_NAMES, type FeatureName } from '../../src/model/features';
import { fitLogistic, gram, largestEigenvalue, predictProbability, trainModel, TrainingError, type RiskModel, type TrainingRecord } from '../../src/model/logistic';
import { auc } from '../../src/model/metrics';

const SMALL: FeatureName[] = ['breakingChanges', 'operationsModifiedShare', 'priorThrottleRate'];
const valuesOf = (m: RiskModel, r: TrainingRecord): number[] => m.features.map((f) => r.features[f]!);

/** Independent maximum-likelihood fit by Newton-Raphson (IRLS) on the same standardised design. */
function newtonFit(rows: number[][], y: number[]): number[] {
  let w = new Array<number>(rows[0]!.length).fill(0);
  for (let iter = 0; iter < 50; iter++) {
    const d = w.length;
    const grad = new Array<number>(d).fill(0);
    const hess = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    rows.forEach((x, i) => {
      const p = 1 / (1 + Math.exp(-x.reduce((s, v, j) => s + v * w[j]!, 0)));
      for (let a = 0; a < d; a++) {
        grad[a]! += (y[i]! - p) * x[a]!;
        for (let b = 0; b < d; b++) hess[a]![b]! += p * (1 - p) * x[a]! * x[b]!;
      }
    });
    const step = solve(new Matrix(hess), Matrix.columnVector(grad)).to1DArray();
    w = w.map((v, j) => v + step[j]!);
    if (Math.max(...step.map(Math.abs)) < 1e-12) break;
  }
  return w;
}

describe('trainModel', () => {
  const history = generateHistory({ records: 3000, seed: 11 });

  it('probabilities equal sigmoid(intercept + Σ w·(x−mean)/sd) computed by hand and by the library', () => {
    const model = trainModel(history.records, { features: SMALL, seed: 3 });
    expect(model.features).toEqual(SMALL);
    expect(model.means).toHaveLength(3);
    for (const r of history.records.slice(0, 50)) {
      const x = valuesOf(model, r);
      let z = model.intercept;
      x.forEach((v, j) => (z += model.weights[j]! * ((v - model.means[j]!) / model.stdDevs[j]!)));
      expect(predictProbability(model, x)).toBeCloseTo(1 / (1 + Math.exp(-z)), 12);
    }
    // The library scoring the same standardised rows with the stored weights gives the same numbers.
    const lib = LogisticRegression.load({ name: 'LogisticRegression', numberClasses: 1, classifiers: [{ weights: [[model.intercept, ...model.weights]] }] });
    const rows = history.records.slice(0, 50).map((r) => [1, ...valuesOf(model, r).map((v, j) => (v - model.means[j]!) / model.stdDevs[j]!)]);
    const libScores = lib.classifiers[0]!.testScores(new Matrix(rows));
    history.records.slice(0, 50).forEach((r, i) => expect(predictProbability(model, valuesOf(model, r))).toBeCloseTo(libScores[i]!, 12));
  });

  it('fitLogistic converges to the maximum-likelihood fit computed independently (Newton-Raphson)', () => {
    const model = trainModel(history.records, { features: SMALL, seed: 3 });
    const records = history.records.slice(0, 2000);
    const rows = records.map((r) => [1, ...valuesOf(model, r).map((v, j) => (v - model.means[j]!) / model.stdDevs[j]!)]);
    const y = records.map((r) => (r.incident ? 1 : 0));
    const ml = newtonFit(rows, y);
    const w = fitLogistic(rows, y, 100, 4 / largestEigenvalue(gram(rows)));
    w.forEach((v, j) => expect(Math.abs(v - ml[j]!)).toBeLessThan(1e-4));
  });

  it('picks a stable step for strongly correlated features', () => {
    expect(largestEigenvalue([[2, 1], [1, 2]])).toBeCloseTo(3, 9);
    expect(largestEigenvalue(gram([[1, 2], [1, -2]]))).toBeCloseTo(4, 9);
    // Three near-copies of one signal: λmax ≈ 3, where a fixed step of 4 would oscillate.
    const base = generateHistory({ records: 2000, seed: 17 }).records;
    const records = base.map((r, i) => {
      const v = r.features.breakingChanges! + ((i % 7) - 3) * 0.01;
      return { incident: r.incident, features: { breakingChanges: v, newScopesAdded: v * 1.01, lintWarnings: v * 0.99 + 0.001 * (i % 3) } };
    });
    const model = trainModel(records, { features: ['breakingChanges', 'newScopesAdded', 'lintWarnings'] });
    expect(model.training.stepSize).toBeLessThan(1.5);
    const p = records.map((r) => predictProbability(model, valuesOf(model, r)));
    expect(p.every((x) => Number.isFinite(x) && x > 0 && x < 1)).toBe(true);
    // Only the sum of the collinear weights is identified; it must carry the signal's sign.
    expect(model.weights.reduce((s, w) => s + w, 0)).toBeGreaterThan(0);
  });

  it('is deterministic for a seed and splits stratified', () => {
    const a = trainModel(history.records.slice(0, 1000), { features: SMALL, seed: 5 });
    const b = trainModel(history.records.slice(0, 1000), { features: SMALL, seed: 5 });
    expect(a.weights).toEqual(b.weights);
    expect(a.version).not.toBe(b.version);
    expect(a.metrics.trainRecords + a.metrics.testRecords).toBe(1000);
    expect(a.metrics.testRecords).toBe(200);
  });

  it('reaches an AUC within 0.03 of the generating model on held-out data', () => {
    const train = generateHistory({ records: 8000, seed: 21, noise: 0.5 });
    const heldOut = generateHistory({ records: 4000, seed: 22, noise: 0.5 });
    const model = trainModel(train.records, { seed: 1 });
    expect(model.features).toEqual(FEATURE_NAMES);
    const labels = heldOut.records.map((r) => (r.incident ? 1 : 0));
    const trained = auc(heldOut.records.map((r) => predictProbability(model, valuesOf(model, r))), labels)!;
    const truth = auc(heldOut.trueProbabilities, labels)!;
    expect(truth).toBeGreaterThan(0.65); // the generated history carries signal
    expect(Math.abs(trained - truth)).toBeLessThanOrEqual(0.03);
    // The split's own metrics are reported and plausible.
    expect(model.metrics.trainRecords + model.metrics.testRecords).toBe(8000);
    expect(Math.abs(model.metrics.auc! - truth)).toBeLessThan(0.05);
    expect(model.metrics.brier).toBeGreaterThan(0);
    expect(model.metrics.brier).toBeLessThan(0.25);
    // Signs of the learned weights follow the generating model.
    for (const f of ['breakingChanges', 'priorThrottleRate', 'operationsModifiedShare'] as const) expect(model.weights[FEATURE_NAMES.indexOf(f)]!).toBeGreaterThan(0);
    expect(model.weights[FEATURE_NAMES.indexOf('priorSuccessRate')]!).toBeLessThan(0);
    expect(DEFAULT_GENERATING_MODEL.coefficients.priorSuccessRate).toBeLessThan(0);
  });

  it('refuses unusable data with the field named', () => {
    const ok = (incident: boolean, v = 1): TrainingRecord => ({ features: { breakingChanges: v }, incident });
    const f: FeatureName[] = ['breakingChanges'];
    const err = (records: unknown): string => {
      try {
        trainModel(records, { features: f });
      } catch (e) {
        expect(e).toBeInstanceOf(TrainingError);
        return (e as Error).message;
      }
      throw new Error('expected a TrainingError');
    };
    expect(err([ok(true), ok(true), ok(true)])).toMatch(/^records: need at least 2 releases with and 2 without an incident; got 3 with and 0 without/);
    expect(err([ok(true), ok(false), ok(true, NaN), ok(false)])).toBe('records[2].features.breakingChanges: must be a finite number (NaN and Infinity are refused)');
    expect(err([ok(true), ok(false), { features: {}, incident: true }, ok(false)])).toBe('records[2].features.breakingChanges: is missing');
    expect(err([ok(true), ok(false), { features: { breakingChanges: 'NaN' }, incident: true }])).toMatch(/^records\[2\]\.features\.breakingChanges: must be a finite number/);
    expect(err([ok(true), { features: { breakingChanges: 1, bogus: 2 }, incident: false }])).toBe('records[1].features.bogus: unknown feature');
    expect(err([ok(true), { features: { breakingChanges: 1 }, incident: 'yes' }])).toBe('records[1].incident: must be true or false');
    expect(err('nope')).toBe('records: must be an array');
    expect(() => trainModel([ok(true)], { features: ['nope' as FeatureName] })).toThrow('features: unknown feature "nope"');
    expect(() => trainModel([ok(true)], { features: f, testShare: 1 })).toThrow(/^testShare/);
  });
});

// The library ships no types: referenced here so every workspace that compiles this file sees them.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- an ambient module declaration has no import form
/// <reference path="../types/ml-logistic-regression.d.ts" />
import { randomUUID } from 'node:crypto';
import LogisticRegression from 'ml-logistic-regression';
import { Matrix } from 'ml-matrix';
import { FEATURE_NAMES, isFeatureName, type FeatureName, type FeatureValues } from './features';
import { seededRandom } from '@pulsegate/random';
import { accuracy, auc, brier, sigmoid } from './metrics';

/** One labelled release: its features and whether an incident followed it. */
export interface TrainingRecord {
  features: FeatureValues;
  incident: boolean;
}

/** Training data that cannot make a model; `field` points at the offending input. */
export class TrainingError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'TrainingError';
  }
}

export interface TrainOptions {
  /** Features to use, in order. Default: every known feature. */
  features?: FeatureName[];
  /** Share of records held out for evaluation, 0–1. Default 0.2. */
  testShare?: number;
  /** Seed of the split. Default 1. */
  seed?: number;
  /** Gradient steps of ml-logistic-regression. Default 100. */
  numSteps?: number;
  /**
   * Step on the mean log-likelihood (the library sums gradients, so its learning rate is
   * stepSize / rows). Default 4 / λmax of the standardised design's Gram matrix: 1 / the
   * log-loss smoothness constant, stable however correlated the features are.
   */
  stepSize?: number;
  /** Clock, epoch ms. Default Date.now. */
  now?: () => number;
}

/** Held-out evaluation of a model. */
export interface ModelMetrics {
  /** Null when the held-out part has one class only. */
  auc: number | null;
  accuracy: number;
  brier: number;
  trainRecords: number;
  testRecords: number;
  /** Share of incidents in all records, 0–1. */
  incidentShare: number;
}

/** A trained model: everything needed to score, with no reference to the library object. */
export interface RiskModel {
  version: string;
  createdAt: number;
  features: FeatureName[];
  /** Mean and standard deviation of each feature in the training part (same order as features). */
  means: number[];
  stdDevs: number[];
  /** Log-odds at the feature means (the bias column's weight). */
  intercept: number;
  /** Weight per standardised feature (same order as features). */
  weights: number[];
  metrics: ModelMetrics;
  training: { numSteps: number; stepSize: number; seed: number; testShare: number };
}

/** Most records accepted for one training run. */
export const MAX_TRAINING_RECORDS = 200_000;

function checkRecords(records: unknown, features: FeatureName[]): { x: number[][]; y: number[] } {
  if (!Array.isArray(records)) throw new TrainingError('records', 'must be an array');
  if (records.length > MAX_TRAINING_RECORDS) throw new TrainingError('records', `at most ${MAX_TRAINING_RECORDS} records per training run`);
  const x: number[][] = [];
  const y: number[] = [];
  records.forEach((r: unknown, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new TrainingError(`records[${i}]`, 'must be an object');
    const rec = r as { features?: unknown; incident?: unknown };
    if (typeof rec.incident !== 'boolean') throw new TrainingError(`records[${i}].incident`, 'must be true or false');
    if (typeof rec.features !== 'object' || rec.features === null) throw new TrainingError(`records[${i}].features`, 'must be an object');
    const f = rec.features as Record<string, unknown>;
    for (const k of Object.keys(f)) if (!isFeatureName(k)) throw new TrainingError(`records[${i}].features.${k}`, 'unknown feature');
    x.push(
      features.map((name) => {
        const v = f[name];
        if (v === undefined || v === null) throw new TrainingError(`records[${i}].features.${name}`, 'is missing');
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new TrainingError(`records[${i}].features.${name}`, 'must be a finite number (NaN and Infinity are refused)');
        return v;
      }),
    );
    y.push(rec.incident ? 1 : 0);
  });
  const positives = y.reduce((a, b) => a + b, 0);
  if (positives < 2 || y.length - positives < 2) {
    throw new TrainingError('records', `need at least 2 releases with and 2 without an incident; got ${positives} with and ${y.length - positives} without`);
  }
  return { x, y };
}

/** Stratified split: each class keeps its share in the held-out part, and both parts have both classes. */
function split(y: number[], testShare: number, seed: number): { train: number[]; test: number[] } {
  const random = seededRandom(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const cls of [0, 1]) {
    const idx = y.flatMap((v, i) => (v === cls ? [i] : []));
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    const nTest = Math.min(idx.length - 1, Math.max(1, Math.round(idx.length * testShare)));
    test.push(...idx.slice(0, nTest));
    train.push(...idx.slice(nTest));
  }
  return { train, test };
}

/** Log-odds contribution of each feature: weight × standardised value. */
export function contributions(model: RiskModel, values: readonly number[]): number[] {
  return model.features.map((_, i) => model.weights[i]! * ((values[i]! - model.means[i]!) / model.stdDevs[i]!));
}

/** P(incident) for raw feature values in the model's feature order. */
export function predictProbability(model: RiskModel, values: readonly number[]): number {
  let z = model.intercept;
  for (const c of contributions(model, values)) z += c;
  return sigmoid(z);
}

/** XᵀX / rows of a design matrix. */
export function gram(rows: number[][]): number[][] {
  const d = rows[0]?.length ?? 0;
  const g = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (const r of rows) for (let a = 0; a < d; a++) for (let b = a; b < d; b++) g[a]![b]! += r[a]! * r[b]!;
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) g[b]![a] = g[a]![b]! /= rows.length;
  return g;
}

/** Largest eigenvalue of a symmetric positive semi-definite matrix by power iteration. */
export function largestEigenvalue(m: number[][]): number {
  let v = m.map(() => 1 / Math.sqrt(m.length));
  let lambda = 0;
  for (let iter = 0; iter < 200; iter++) {
    const mv = m.map((row) => row.reduce((s, x, j) => s + x * v[j]!, 0));
    const norm = Math.sqrt(mv.reduce((s, x) => s + x * x, 0));
    if (norm === 0) return 1;
    const next = mv.map((x) => x / norm);
    const change = Math.abs(norm - lambda);
    lambda = norm;
    v = next;
    if (change < 1e-12 * lambda) break;
  }
  return lambda;
}

/**
 * Fits ml-logistic-regression on rows that already carry the bias column first; returns
 * [intercept, ...weights]. The library sums the gradient over rows, so the learning rate is
 * `stepSize / rows` (a step of `stepSize` on the mean log-likelihood).
 */
export function fitLogistic(rows: number[][], labels: number[], numSteps: number, stepSize: number): number[] {
  const lib = new LogisticRegression({ numSteps, learningRate: stepSize / rows.length });
  lib.train(new Matrix(rows), Matrix.columnVector(labels));
  // Classifier 0 is trained one-vs-all with target (label !== 0), i.e. it models P(incident).
  const w = lib.classifiers[0]?.weights?.to1DArray();
  if (w === undefined || w.length !== (rows[0]?.length ?? 0) || w.some((v) => !Number.isFinite(v))) throw new TrainingError('records', 'training diverged; check feature scales');
  return w;
}

/**
 * Trains a model with ml-logistic-regression. The library has no intercept, no regularisation and
 * no probability output, so features are standardised with the training part's mean and standard
 * deviation, a constant 1 column carries the intercept, and probabilities come from a sigmoid of
 * the learned weights. Throws TrainingError for unusable data. Each step costs O(rows × features).
 */
export function trainModel(records: unknown, options: TrainOptions = {}): RiskModel {
  const features = options.features ?? FEATURE_NAMES;
  if (features.length === 0) throw new TrainingError('features', 'must name at least one feature');
  for (const f of features) if (!isFeatureName(f)) throw new TrainingError('features', `unknown feature ${JSON.stringify(f)}`);
  if (new Set(features).size !== features.length) throw new TrainingError('features', 'must not repeat a feature');
  const testShare = options.testShare ?? 0.2;
  if (!(testShare > 0 && testShare < 1)) throw new TrainingError('testShare', 'must be between 0 and 1 (exclusive)');
  const seed = options.seed ?? 1;
  const numSteps = options.numSteps ?? 100;
  const { x, y } = checkRecords(records, features);
  const { train, test } = split(y, testShare, seed);

  const d = features.length;
  const means = new Array<number>(d).fill(0);
  const stdDevs = new Array<number>(d).fill(0);
  for (const i of train) for (let j = 0; j < d; j++) means[j]! += x[i]![j]!;
  for (let j = 0; j < d; j++) means[j]! /= train.length;
  for (const i of train) for (let j = 0; j < d; j++) stdDevs[j]! += (x[i]![j]! - means[j]!) ** 2;
  // A constant feature carries no information; deviation 1 keeps its standardised value at 0.
  for (let j = 0; j < d; j++) stdDevs[j] = Math.sqrt(stdDevs[j]! / train.length) || 1;

  const rows = train.map((i) => [1, ...x[i]!.map((v, j) => (v - means[j]!) / stdDevs[j]!)]);
  const stepSize = options.stepSize ?? 4 / largestEigenvalue(gram(rows));
  const w = fitLogistic(rows, train.map((i) => y[i]!), numSteps, stepSize);

  const model: RiskModel = {
    version: `m-${(options.now ?? Date.now)().toString(36)}-${randomUUID().slice(0, 8)}`,
    createdAt: (options.now ?? Date.now)(),
    features: [...features],
    means,
    stdDevs,
    intercept: w[0]!,
    weights: w.slice(1),
    metrics: { auc: null, accuracy: 0, brier: 0, trainRecords: train.length, testRecords: test.length, incidentShare: y.reduce((a, b) => a + b, 0) / y.length },
    training: { numSteps, stepSize, seed, testShare },
  };
  const p = test.map((i) => predictProbability(model, x[i]!));
  const labels = test.map((i) => y[i]!);
  model.metrics.auc = auc(p, labels);
  model.metrics.accuracy = accuracy(p, labels);
  model.metrics.brier = brier(p, labels);
  return model;
}

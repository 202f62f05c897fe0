import { FEATURE_NAMES, type FeatureName, type FeatureValues } from './features';
import type { TrainingRecord } from './logistic';
import { gaussian as normal, seededRandom } from '@pulsegate/random';
import { sigmoid } from './metrics';

/** The known logistic model a history is drawn from: log-odds = intercept + Σ coefficient × raw value. */
export interface GeneratingModel {
  intercept: number;
  coefficients: Record<FeatureName, number>;
}

/** Default generating model: breaking changes, scopes and a weak prior version raise the risk. */
export const DEFAULT_GENERATING_MODEL: GeneratingModel = {
  intercept: 8.3,
  coefficients: {
    lintWarnings: 0.08,
    operationsModifiedShare: 1.6,
    newScopesAdded: 0.5,
    payloadSizeIncrease: 1.2,
    breakingChanges: 0.45,
    priorIncidentRate: 0.6,
    priorSuccessRate: -12,
    priorP95Ms: 0.0015,
    priorThrottleRate: 25,
    priorAlertsPer1000Calls: 0.8,
  },
};

export interface GeneratedHistory {
  records: TrainingRecord[];
  /** The generating model's own probability for each record (without the noise term). */
  trueProbabilities: number[];
}

/** −ln(U): an exponential draw with mean 1. */
function expo(random: () => number): number {
  return -Math.log(1 - random());
}

/**
 * Draws a labelled release history from `model`: plausible feature distributions, then
 * incident ~ Bernoulli(sigmoid(log-odds + Normal(0, noise))). Deterministic for a seed.
 */
export function generateHistory(options: { records: number; seed?: number; noise?: number; model?: GeneratingModel }): GeneratedHistory {
  const random = seededRandom(options.seed ?? 42);
  const model = options.model ?? DEFAULT_GENERATING_MODEL;
  const noise = options.noise ?? 0.5;
  const records: TrainingRecord[] = [];
  const trueProbabilities: number[] = [];
  for (let i = 0; i < options.records; i++) {
    const f: Record<FeatureName, number> = {
      lintWarnings: Math.floor(expo(random) * 4),
      operationsModifiedShare: random() ** 2,
      newScopesAdded: random() < 0.2 ? 1 + Math.floor(random() * 3) : 0,
      payloadSizeIncrease: 0.05 + 0.2 * normal(random),
      breakingChanges: random() < 0.15 ? 1 + Math.floor(random() * 4) : 0,
      priorIncidentRate: expo(random) * 0.5,
      priorSuccessRate: Math.max(0.8, 1 - expo(random) * 0.01),
      priorP95Ms: 200 + expo(random) * 300,
      priorThrottleRate: Math.min(0.2, expo(random) * 0.01),
      priorAlertsPer1000Calls: expo(random) * 0.2,
    };
    let z = model.intercept;
    for (const name of FEATURE_NAMES) z += model.coefficients[name] * f[name];
    trueProbabilities.push(sigmoid(z));
    const incident = random() < sigmoid(z + noise * normal(random));
    records.push({ features: f as FeatureValues, incident });
  }
  return { records, trueProbabilities };
}

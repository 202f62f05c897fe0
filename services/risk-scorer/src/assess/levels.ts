import type { RiskModel } from '../model/logistic';
import { contributions, predictProbability } from '../model/logistic';
import { TELEMETRY_FEATURES, type FeatureName, type FeatureValues } from '../model/features';
import type { Decision, Reason, RiskLevel } from '../store/types';

/** Probability cut-offs: low < medium ≤ p < high ≤ p. Defaults 0.3 and 0.7. */
export interface LevelCutoffs {
  medium: number;
  high: number;
}

export const DEFAULT_CUTOFFS: LevelCutoffs = { medium: 0.3, high: 0.7 };

/** Risk level of a probability under `cutoffs`. */
export function levelFor(probability: number, cutoffs: LevelCutoffs = DEFAULT_CUTOFFS): Exclude<RiskLevel, 'unknown'> {
  if (probability >= cutoffs.high) return 'high';
  if (probability >= cutoffs.medium) return 'medium';
  return 'low';
}

/** low → auto-promote; medium and unknown → require-approval; high → security architect. */
export function decisionFor(level: RiskLevel): Decision {
  if (level === 'low') return 'auto-promote';
  if (level === 'high') return 'require-security-architect-approval';
  return 'require-approval';
}

export interface Scored {
  probability: number | null;
  level: RiskLevel;
  decision: Decision;
  reasons: Reason[];
  missing: string[];
}

/**
 * Scores feature values with a model, failing closed: without a model, or with any feature the
 * model needs missing, the level is unknown and the decision require-approval, with the reason.
 * `telemetryNote` explains why telemetry features are missing when that is known.
 */
export function score(model: RiskModel | null, values: FeatureValues, cutoffs: LevelCutoffs = DEFAULT_CUTOFFS, telemetryNote?: string): Scored {
  if (model === null) {
    return { probability: null, level: 'unknown', decision: 'require-approval', reasons: [{ feature: 'model', value: null, contribution: null, note: 'no trained risk model for this tenant; train one with POST /v1/risk/model:train' }], missing: [] };
  }
  const missing = model.features.filter((f) => values[f] === undefined);
  if (missing.length > 0) {
    const reasons: Reason[] = missing.map((f: FeatureName) => ({
      feature: f,
      value: null,
      contribution: null,
      note: TELEMETRY_FEATURES.includes(f) ? `telemetry of the prior version is not available${telemetryNote === undefined ? '' : ` (${telemetryNote})`}` : 'feature not supplied',
    }));
    return { probability: null, level: 'unknown', decision: 'require-approval', reasons, missing };
  }
  const raw = model.features.map((f) => values[f]!);
  const probability = predictProbability(model, raw);
  const parts = contributions(model, raw);
  const reasons = model.features
    .map((f, i) => ({ feature: f, value: raw[i]!, contribution: parts[i]! }))
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
  const level = levelFor(probability, cutoffs);
  return { probability, level, decision: decisionFor(level), reasons, missing: [] };
}

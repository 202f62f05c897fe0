/**
 * Release features the risk model can use, with their units. Spec-derived ones come from
 * computeSpecFeatures; telemetry ones describe the prior version in production.
 */
export const FEATURE_DESCRIPTIONS = {
  lintWarnings: 'Pulsegate connector lint findings (errors and warnings) on the new spec (count)',
  operationsModifiedShare: 'modified operations / operations in both versions (ratio 0-1)',
  newScopesAdded: 'OAuth scopes the new version adds (count)',
  payloadSizeIncrease: 'relative change of the 2xx response schema field count (ratio)',
  breakingChanges: 'breaking changes between the versions (count)',
  priorIncidentRate: "prior version's incidents per 30 days in production (count / 30 d)",
  priorSuccessRate: "prior version's success rate over its telemetry window (ratio 0-1)",
  priorP95Ms: "prior version's P95 latency, worst action (ms)",
  priorThrottleRate: "prior version's throttled calls / calls (ratio 0-1)",
  priorAlertsPer1000Calls: "alerts fired on the prior version per 1000 calls in its telemetry window",
} as const;

export type FeatureName = keyof typeof FEATURE_DESCRIPTIONS;

/** Every known feature, in model order. */
export const FEATURE_NAMES = Object.keys(FEATURE_DESCRIPTIONS) as FeatureName[];

/** Features that come from live telemetry of the prior version. */
export const TELEMETRY_FEATURES: readonly FeatureName[] = ['priorSuccessRate', 'priorP95Ms', 'priorThrottleRate', 'priorAlertsPer1000Calls'];

/** Features taken from a spec comparison. */
export const SPEC_FEATURES: readonly FeatureName[] = ['lintWarnings', 'operationsModifiedShare', 'newScopesAdded', 'payloadSizeIncrease', 'breakingChanges'];

/** Feature values by name; absent = unknown. */
export type FeatureValues = Partial<Record<FeatureName, number>>;

export function isFeatureName(name: string): name is FeatureName {
  return Object.prototype.hasOwnProperty.call(FEATURE_DESCRIPTIONS, name);
}

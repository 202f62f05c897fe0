import type { Bus } from '@pulsegate/bus';
import { compareSemver, parseSemver, seriesKey, Topics } from '@pulsegate/events';
import type { Logger } from '@pulsegate/logging';
import type { FeatureValues } from '../model/features';
import { TELEMETRY_FEATURES } from '../model/features';
import type { ModelStore } from '../model/store';
import { priorTelemetry } from '../telemetry/prior';
import type { Assessment, RiskStore } from '../store/types';
import type { ConnectorEntry } from '../catalog/types';
import { score, type LevelCutoffs } from './levels';

export interface AssessmentRequest {
  connector: string;
  version: string;
  previousVersion?: string;
  features: FeatureValues;
}

export interface AssessorDeps {
  store: RiskStore;
  models: ModelStore;
  bus: Bus;
  logger: Logger;
  cutoffs: LevelCutoffs;
  now: () => number;
}

/** The highest catalog version below `version`, or null. */
export function previousInCatalog(entry: ConnectorEntry, version: string): string | null {
  const target = parseSemver(version);
  if (target === null) return null;
  let best: string | null = null;
  for (const v of entry.versions) {
    const sv = parseSemver(v.version);
    if (sv === null || compareSemver(sv, target) >= 0) continue;
    if (best === null || compareSemver(sv, parseSemver(best)!) > 0) best = v.version;
  }
  return best;
}

/**
 * Answers one promotion question: gathers features (request first, then the prior version's live
 * telemetry), scores them, stores the answer, publishes it on the risk topic and writes the audit
 * line. The catalog entry must exist (the caller checks).
 */
export async function runAssessment(deps: AssessorDeps, who: { tenant: string; keyName: string }, entry: ConnectorEntry, req: AssessmentRequest): Promise<Assessment> {
  const tenant = who.tenant;
  const previousVersion = req.previousVersion ?? previousInCatalog(entry, req.version);
  const model = await deps.models.active(tenant);
  const values: FeatureValues = { ...req.features };
  let telemetryNote: string | undefined;
  const needsTelemetry = (model?.features ?? TELEMETRY_FEATURES).some((f) => TELEMETRY_FEATURES.includes(f) && values[f] === undefined);
  if (needsTelemetry) {
    if (previousVersion === null) telemetryNote = 'no previous version given or in the catalog';
    else {
      const t = await priorTelemetry(deps.store, tenant, req.connector, previousVersion);
      if (t === null) telemetryNote = `no metrics received for ${req.connector} ${previousVersion}`;
      else for (const f of TELEMETRY_FEATURES) values[f] ??= t.values[f as keyof typeof t.values];
    }
  }
  const scored = score(model, values, deps.cutoffs, telemetryNote);
  const assessment: Assessment = {
    connector: req.connector,
    version: req.version,
    previousVersion,
    probability: scored.probability,
    level: scored.level,
    decision: scored.decision,
    modelVersion: model?.version ?? null,
    reasons: scored.reasons,
    missing: scored.missing,
    features: values,
    assessedAt: deps.now(),
    assessedBy: { tenant, keyName: who.keyName },
  };
  await deps.store.putAssessment(tenant, assessment);
  await deps.bus.publish(Topics.risk, [{ key: seriesKey(tenant, req.connector), value: JSON.stringify({ schemaVersion: 1, tenant, ...assessment }) }]);
  deps.logger.info(
    { audit: { action: 'risk.assessment', who, at: new Date(assessment.assessedAt).toISOString(), inputs: req, answer: { probability: assessment.probability, level: assessment.level, decision: assessment.decision, modelVersion: assessment.modelVersion, missing: assessment.missing } } },
    'risk assessment',
  );
  return assessment;
}

import { judgeCanary, type ActionTelemetry, type CanaryOptions, type CanaryVerdict } from '../canary/verdict';
import type { ConnectorEntry } from '../catalog/types';
import { previousInCatalog, runAssessment, type AssessorDeps } from '../assess/assessor';
import type { FeatureValues } from '../model/features';
import { computeSpecFeatures, type SpecFeatures } from '../spec/features';
import { lintSpec, type LintReport } from '../spec/lint';
import type { RuleOverrides } from '../spec/rules';
import { checkSemver, type SemverCheck } from '../spec/semver';
import type { GateDecision, RiskStore } from '../store/types';
import { decideChecks } from './decide';

/** One gate question: the versions, optionally both specs and the canary telemetry. */
export interface GateRequest {
  connector: string;
  version: string;
  previousVersion?: string;
  oldSpec?: unknown;
  newSpec?: unknown;
  overrides?: RuleOverrides;
  features?: FeatureValues;
  /** Per-action telemetry of both versions; absent = the stored live telemetry (rates only). */
  canary?: { baseline: Record<string, ActionTelemetry>; candidate: Record<string, ActionTelemetry>; options?: Partial<CanaryOptions> };
}

/** Per-action rates of a version from the stored series snapshots (no latency sketches there). */
async function storedTelemetry(store: RiskStore, tenant: string, connector: string, version: string): Promise<Record<string, ActionTelemetry>> {
  const out: Record<string, ActionTelemetry> = {};
  for (const s of await store.seriesOf(tenant, connector, version)) {
    const t = (out[s.action] ??= { calls: 0, errors: 0, throttled: 0 });
    t.calls += s.window.calls;
    t.throttled += s.window.throttled;
    t.errors += Math.max(0, s.window.calls - s.window.successes - s.window.throttled);
  }
  return out;
}

/**
 * Answers "may this version be promoted?" from every piece of evidence: spec diff and semantic
 * versioning, lint, the canary verdict (given, or from stored telemetry of both versions) and the
 * model's assessment (stored and published as before). Records the decision in the connector's
 * history. Throws SpecError on unreadable specs.
 */
export async function runGate(deps: AssessorDeps, who: { tenant: string; keyName: string; via: string }, entry: ConnectorEntry, req: GateRequest): Promise<GateDecision> {
  let spec: SpecFeatures | undefined;
  let semver: SemverCheck | undefined;
  let lint: LintReport | undefined;
  const previousVersion = req.previousVersion ?? previousInCatalog(entry, req.version);
  if (req.oldSpec !== undefined && req.newSpec !== undefined) {
    spec = computeSpecFeatures(req.oldSpec, req.newSpec, { overrides: req.overrides });
    lint = spec.lint;
    semver = checkSemver(spec, previousVersion ?? spec.oldVersion ?? '', req.version);
  } else if (req.newSpec !== undefined) lint = lintSpec(req.newSpec, 'newSpec');

  let canary: CanaryVerdict | undefined;
  let canaryNote: string | undefined;
  let canarySource = 'request';
  if (req.canary !== undefined) canary = judgeCanary(req.canary.baseline, req.canary.candidate, req.canary.options);
  else if (previousVersion === null) canaryNote = 'no previous version given or in the catalog';
  else {
    canarySource = 'stored telemetry (error and throttle rates)';
    const [base, cand] = await Promise.all([storedTelemetry(deps.store, who.tenant, req.connector, previousVersion), storedTelemetry(deps.store, who.tenant, req.connector, req.version)]);
    if (Object.keys(base).length === 0 && Object.keys(cand).length === 0) canaryNote = `no telemetry received for ${req.connector} ${previousVersion} or ${req.version}`;
    else canary = judgeCanary(base, cand);
  }

  const features: FeatureValues = { ...req.features, ...(spec?.features ?? {}), ...(lint !== undefined && spec === undefined ? { lintWarnings: lint.counts.error + lint.counts.warning } : {}) };
  const assessment = await runAssessment(deps, who, entry, { connector: req.connector, version: req.version, previousVersion: previousVersion ?? undefined, features });
  const { outcome, checks, reasons } = decideChecks({ semver, lint, canary, canaryNote, assessment });
  const decision: GateDecision = {
    connector: req.connector,
    version: req.version,
    previousVersion,
    outcome,
    checks,
    reasons,
    inputs: {
      oldSpecVersion: spec?.oldVersion ?? null,
      newSpecVersion: spec?.newVersion ?? null,
      overrides: req.overrides ?? {},
      canarySource: canary === undefined ? null : canarySource,
      features: req.features ?? {},
    },
    details: {
      semver: semver ?? null,
      findings: spec === undefined ? null : { counts: spec.counts, actions: spec.actions, errors: spec.findings.filter((f) => f.severity === 'error') },
      lint: lint === undefined ? null : { counts: lint.counts, documentationCompleteness: lint.documentationCompleteness, findings: lint.findings.slice(0, 50) },
      canary: canary ?? null,
      assessment,
    },
    decidedAt: deps.now(),
    decidedBy: who,
  };
  await deps.store.appendDecision(who.tenant, decision);
  deps.logger.info({ audit: { action: 'risk.gate', who, at: new Date(decision.decidedAt).toISOString(), inputs: { connector: req.connector, version: req.version, previousVersion, ...decision.inputs }, answer: { outcome, reasons } } }, 'release gate decision');
  return decision;
}

import { judgeCanary, type ActionTelemetry, type CanaryOptions, type CanaryVerdict } from '../canary/verdict';
import type { ConnectorEntry } from '../catalog/types';
import { previousInCatalog, runAssessment, type AssessorDeps } from '../assess/assessor';
import type { FeatureValues } from '../model/features';
import { computeSpecFeatures, type SpecFeatures } from '../spec/features';
import { lintSpec, type LintReport } from '../spec/lint';
import type { RuleOverrides } from '../spec/rules';
import { checkSemver, type SemverCheck } from '../spec/semver';
import type { GateDecision, RiskStore } from '../store/types';
import { DEFAULT_CANARY_WINDOW, TelemetryUnavailable, type CanaryWindow, type VersionPairTelemetry } from '../telemetry/aggregator';
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
  /** Per-action telemetry of both versions; absent = live telemetry (the aggregator, else stored snapshots). */
  canary?: { baseline: Record<string, ActionTelemetry>; candidate: Record<string, ActionTelemetry>; options?: Partial<CanaryOptions> };
  /** Window the live telemetry is judged over; default DEFAULT_CANARY_WINDOW. Needs an aggregator. */
  window?: CanaryWindow;
}

/** Both versions' live telemetry over a window, read with the caller's key; null = no data for the connector. */
export type LiveTelemetry = (connector: string, baseline: string, candidate: string, window: CanaryWindow) => Promise<VersionPairTelemetry | null>;

/** What the canary check is judged on, and why there is nothing to judge when there is not. */
interface CanaryEvidence {
  canary?: CanaryVerdict;
  note?: string;
  source: string | null;
  window: { window: string; from: number; to: number } | null;
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
 * The canary from live telemetry: both versions' counts and latency sketches from the aggregator
 * over the asked window when one is configured (`live`), else the stored snapshots' rates. Missing
 * or unreachable telemetry is a note, so the check holds (fail closed).
 */
async function liveCanary(store: RiskStore, tenant: string, req: GateRequest, previousVersion: string, live: LiveTelemetry | undefined): Promise<CanaryEvidence> {
  const pair = `${req.connector} ${previousVersion} or ${req.version}`;
  if (previousVersion === req.version) return { note: `the baseline and the candidate are the same version ${req.version}`, source: null, window: null };
  if (live === undefined) {
    if (req.window !== undefined) return { note: 'a window was asked but no aggregator is configured (RISK_AGGREGATOR_URL)', source: null, window: null };
    const [base, cand] = await Promise.all([storedTelemetry(store, tenant, req.connector, previousVersion), storedTelemetry(store, tenant, req.connector, req.version)]);
    if (Object.keys(base).length === 0 && Object.keys(cand).length === 0) return { note: `no telemetry received for ${pair}`, source: null, window: null };
    return { canary: judgeCanary(base, cand), source: 'stored telemetry (error and throttle rates)', window: null };
  }
  let t: VersionPairTelemetry | null;
  try {
    t = await live(req.connector, previousVersion, req.version, req.window ?? { window: DEFAULT_CANARY_WINDOW });
  } catch (err) {
    if (err instanceof TelemetryUnavailable) return { note: err.message, source: null, window: null };
    throw err;
  }
  if (t === null) return { note: `the aggregator has no telemetry for ${req.connector}`, source: null, window: null };
  const window = { window: t.window, from: t.from, to: t.to };
  const range = `${new Date(t.from).toISOString()} - ${new Date(t.to).toISOString()}`;
  if (Object.keys(t.baseline).length === 0 && Object.keys(t.candidate).length === 0) return { note: `no calls for ${pair} in ${range}`, source: null, window };
  return { canary: judgeCanary(t.baseline, t.candidate), source: `aggregator (window ${t.window}, ${range})`, window };
}

/**
 * Answers "may this version be promoted?" from every piece of evidence: spec diff and semantic
 * versioning, lint, the canary verdict (given, or from both versions' live telemetry) and the
 * model's assessment (stored and published as before). Records the decision in the connector's
 * history. Throws SpecError on unreadable specs.
 */
export async function runGate(deps: AssessorDeps, who: { tenant: string; keyName: string; via: string }, entry: ConnectorEntry, req: GateRequest, live?: LiveTelemetry): Promise<GateDecision> {
  let spec: SpecFeatures | undefined;
  let semver: SemverCheck | undefined;
  let lint: LintReport | undefined;
  const previousVersion = req.previousVersion ?? previousInCatalog(entry, req.version);
  if (req.oldSpec !== undefined && req.newSpec !== undefined) {
    spec = await computeSpecFeatures(req.oldSpec, req.newSpec, { overrides: req.overrides });
    lint = spec.lint;
    semver = checkSemver(spec, previousVersion ?? spec.oldVersion ?? '', req.version);
  } else if (req.newSpec !== undefined) lint = await lintSpec(req.newSpec, 'newSpec');

  const evidence: CanaryEvidence =
    req.canary !== undefined
      ? { canary: judgeCanary(req.canary.baseline, req.canary.candidate, req.canary.options), source: 'request', window: null }
      : previousVersion === null
        ? { note: 'no previous version given or in the catalog', source: null, window: null }
        : await liveCanary(deps.store, who.tenant, req, previousVersion, live);
  const { canary, note: canaryNote } = evidence;

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
      canarySource: canary === undefined ? null : evidence.source,
      canaryWindow: evidence.window,
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

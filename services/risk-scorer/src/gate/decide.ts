import type { CanaryVerdict } from '../canary/verdict';
import type { LintReport } from '../spec/lint';
import type { SemverCheck } from '../spec/semver';
import type { Assessment, GateCheck, GateDecision } from '../store/types';

/** What one decision is made from; absent parts hold the decision (fail closed). */
export interface GateEvidence {
  semver?: SemverCheck;
  lint?: LintReport;
  canary?: CanaryVerdict;
  /** Why the canary is absent, when it is. */
  canaryNote?: string;
  assessment: Assessment;
}

/**
 * Combines semantic versioning, lint errors, the canary verdict and the model into one outcome:
 * any failed check rejects, any held check (missing evidence, inconclusive canary, a model level
 * other than low) holds, and only all passing promotes.
 */
export function decideChecks(e: GateEvidence): { outcome: GateDecision['outcome']; checks: GateCheck[]; reasons: string[] } {
  const checks: GateCheck[] = [];
  if (e.semver === undefined) checks.push({ check: 'semver', status: 'hold', message: 'no specs given: semantic versioning and breaking changes not checked' });
  else if (e.semver.refused) checks.push({ check: 'semver', status: 'fail', message: e.semver.findings.filter((f) => f.severity === 'error').map((f) => f.message).join('; ') });
  else {
    const warn = e.semver.findings.map((f) => f.message);
    checks.push({ check: 'semver', status: 'pass', message: `${e.semver.previousVersion} -> ${e.semver.version} is a ${e.semver.bump.toUpperCase()} bump; the changes need ${e.semver.required.toUpperCase()}${warn.length > 0 ? ` (warning: ${warn.join('; ')})` : ''}` });
  }
  if (e.lint === undefined) checks.push({ check: 'lint', status: 'hold', message: 'no new spec given: lint not run' });
  else if (e.lint.counts.error > 0) checks.push({ check: 'lint', status: 'fail', message: `${e.lint.counts.error} lint error(s): ${e.lint.findings.filter((f) => f.severity === 'error').map((f) => `${f.rule} ${f.message}`).slice(0, 5).join('; ')}` });
  else checks.push({ check: 'lint', status: 'pass', message: `${e.lint.counts.warning} lint warning(s), documentation completeness ${(e.lint.documentationCompleteness * 100).toFixed(0)} %` });
  if (e.canary === undefined) checks.push({ check: 'canary', status: 'hold', message: `no canary verdict${e.canaryNote === undefined ? '' : ` (${e.canaryNote})`}` });
  else {
    const bad = e.canary.actions.flatMap((a) => a.metrics.filter((m) => m.verdict !== 'pass').map((m) => `${a.action} ${m.metric} ${m.verdict}: ${m.reason}`));
    const status = e.canary.verdict === 'pass' ? 'pass' : e.canary.verdict === 'fail' ? 'fail' : 'hold';
    checks.push({ check: 'canary', status, message: status === 'pass' ? `${e.canary.actions.length} action(s) pass against the baseline` : bad.slice(0, 10).join('; ') });
  }
  const a = e.assessment;
  const p = a.probability === null ? 'n/a' : a.probability.toFixed(3);
  const note = a.reasons.find((r) => r.note !== undefined)?.note;
  checks.push({ check: 'model', status: a.level === 'low' ? 'pass' : 'hold', message: `level ${a.level}, probability ${p}, decision ${a.decision}${note === undefined ? '' : ` (${note})`}` });
  const outcome = checks.some((c) => c.status === 'fail') ? 'reject' : checks.some((c) => c.status === 'hold') ? 'hold' : 'promote';
  const order = { fail: 0, hold: 1, pass: 2 } as const;
  const reasons = [...checks].sort((x, y) => order[x.status] - order[y.status]).map((c) => `${c.check} ${c.status}: ${c.message}`);
  return { outcome, checks, reasons };
}

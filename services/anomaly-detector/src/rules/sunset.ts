import type { AdoptionSnapshot } from '@pulsegate/events';
import type { EffectiveRule } from './defaults';
import type { RuleBook } from './rule-book';

/** One version of an adoption snapshot. */
type VersionRow = AdoptionSnapshot['versions'][number];

/** A per-version rule of the version lifecycle resolved for its version's scope. */
export interface VersionJudgement {
  rule: EffectiveRule;
  version: VersionRow;
  labels: Record<string, string>;
  value: number | null;
  threshold: number | null;
  /** Window the value is over: the recent window (past sunset) or the adoption window (notices). */
  window: string;
  /** The firing (or, for a notice, the sending) condition holds. */
  breach: boolean;
}

function ruleFor(rules: RuleBook, a: AdoptionSnapshot, v: VersionRow, metric: EffectiveRule['metric']): EffectiveRule | null {
  const rule = rules.resolveAll({ tenant: a.tenant, connector: a.connector, version: v.version }).find((r) => r.metric === metric);
  return rule === undefined || rule.disabled ? null : rule;
}

function labelsOf(rule: EffectiveRule, a: AdoptionSnapshot, v: VersionRow): Record<string, string> {
  return { alertname: rule.name, tenant: a.tenant, connector: a.connector, version: v.version, severity: rule.severity };
}

/**
 * VersionPastSunset per version with a catalog sunset: the value is the version's calls over the
 * snapshot's recent window once the snapshot time is at or past `sunsetAt` (null before it, or when
 * the aggregator sent no recent counts), so the alert fires on traffic after the sunset and
 * resolves once that traffic stops. Versions without a sunset date get no verdict.
 */
export function pastSunset(rules: RuleBook, a: AdoptionSnapshot): VersionJudgement[] {
  const out: VersionJudgement[] = [];
  for (const v of a.versions) {
    if (v.sunsetAt === undefined || v.sunsetAt === null) continue;
    const rule = ruleFor(rules, a, v, 'callsPastSunset');
    if (rule === null) continue;
    const value = a.at >= v.sunsetAt && v.recentCalls !== undefined ? v.recentCalls : null;
    const limit = rule.threshold?.read ?? null;
    const breach = value !== null && limit !== null && value >= rule.minCalls && value > limit;
    out.push({ rule, version: v, labels: labelsOf(rule, a, v), value, threshold: limit, window: a.recentWindow ?? '5m', breach });
  }
  return out;
}

/**
 * VersionReadyToSunset per deprecated version (deprecation notice at least min_age old): its share
 * of the connector's calls over the adoption window is under the limit, judged only once the
 * connector has min_calls calls in that window. Versions without calls in the window are not in
 * the snapshot, so they are not judged.
 */
export function readyToSunset(rules: RuleBook, a: AdoptionSnapshot): VersionJudgement[] {
  const calls = a.versions.reduce((sum, v) => sum + v.calls, 0);
  const out: VersionJudgement[] = [];
  for (const v of a.versions) {
    if (v.deprecatedAt === null) continue;
    const rule = ruleFor(rules, a, v, 'deprecatedVersionShare');
    if (rule === null || a.at - v.deprecatedAt < rule.minAgeMs) continue;
    const limit = rule.threshold?.read ?? null;
    const breach = limit !== null && calls > 0 && calls >= rule.minCalls && v.share < limit;
    out.push({ rule, version: v, labels: labelsOf(rule, a, v), value: v.share, threshold: limit, window: a.window, breach });
  }
  return out;
}

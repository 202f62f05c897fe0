import { compareSemver, parseSemver } from '@pulsegate/events';
import type { SpecDiff } from './diff';
import { ruleById } from './rules';

/** One semantic-versioning finding; `refused` ones block promotion whatever the model says. */
export interface SemverFinding {
  rule: 'semver-breaking-without-major' | 'semver-additive-as-patch' | 'semver-info-version-mismatch' | 'semver-not-increased' | 'semver-invalid';
  severity: 'error' | 'warning';
  message: string;
}

/** The verdict of semantic-versioning discipline on one release. */
export interface SemverCheck {
  previousVersion: string;
  version: string;
  /** major | minor | patch | none (not higher) | invalid. */
  bump: 'major' | 'minor' | 'patch' | 'none' | 'invalid';
  /** The bump the changes call for: major for any error finding, minor for additive ones, else patch. */
  required: 'major' | 'minor' | 'patch';
  findings: SemverFinding[];
  /** True when any finding is an error. */
  refused: boolean;
}

/**
 * Checks a release against semantic versioning (guide section 10): an error-level change with a
 * non-MAJOR bump is refused (0.y.z: a MINOR bump is enough, as SemVer allows), additive changes
 * with only a PATCH bump are a warning, and each spec's `info.version` must equal the version
 * asked about.
 */
export function checkSemver(diff: SpecDiff, previousVersion: string, version: string): SemverCheck {
  const findings: SemverFinding[] = [];
  const before = parseSemver(previousVersion);
  const after = parseSemver(version);
  const breaking = diff.findings.filter((f) => f.severity === 'error');
  const additive = diff.findings.some((f) => ruleById(f.rule)?.additive === true && f.severity === 'info');
  const required = breaking.length > 0 ? 'major' : additive ? 'minor' : 'patch';
  if (diff.oldVersion !== previousVersion) findings.push({ rule: 'semver-info-version-mismatch', severity: 'error', message: `old spec info.version is ${JSON.stringify(diff.oldVersion)}, not ${previousVersion}` });
  if (diff.newVersion !== version) findings.push({ rule: 'semver-info-version-mismatch', severity: 'error', message: `new spec info.version is ${JSON.stringify(diff.newVersion)}, not ${version}` });
  if (before === null || after === null) {
    findings.push({ rule: 'semver-invalid', severity: 'error', message: `${before === null ? previousVersion : version} is not a semantic version` });
    return { previousVersion, version, bump: 'invalid', required, findings, refused: true };
  }
  const bump = compareSemver(after, before) <= 0 ? 'none' : after.major !== before.major ? 'major' : after.minor !== before.minor ? 'minor' : 'patch';
  if (bump === 'none') findings.push({ rule: 'semver-not-increased', severity: 'error', message: `${version} is not higher than ${previousVersion}` });
  const majorEnough = bump === 'major' || (before.major === 0 && bump === 'minor');
  if (breaking.length > 0 && bump !== 'none' && !majorEnough) {
    const rules = [...new Set(breaking.map((f) => f.rule))].join(', ');
    findings.push({ rule: 'semver-breaking-without-major', severity: 'error', message: `${breaking.length} breaking change(s) (${rules}) need a MAJOR version; ${previousVersion} -> ${version} is a ${bump.toUpperCase()} bump` });
  }
  if (additive && breaking.length === 0 && bump === 'patch') findings.push({ rule: 'semver-additive-as-patch', severity: 'warning', message: `additive changes need a MINOR version; ${previousVersion} -> ${version} is a PATCH bump` });
  return { previousVersion, version, bump, required, findings, refused: findings.some((f) => f.severity === 'error') };
}

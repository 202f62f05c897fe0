/** A strictly parsed semantic version (https://semver.org/spec/v2.0.0.html, build metadata kept). */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
  build: string[];
  raw: string;
}

// The official SemVer 2.0.0 grammar: no leading zeros, no "v" prefix, no missing parts.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Parses a semantic version strictly; returns null when `text` is not one. */
export function parseSemver(text: string): SemVer | null {
  if (typeof text !== 'string' || text.length > 128) return null;
  const m = SEMVER.exec(text);
  if (m === null) return null;
  const nums = [m[1], m[2], m[3]].map(Number);
  if (nums.some((n) => !Number.isSafeInteger(n))) return null;
  return {
    major: nums[0]!,
    minor: nums[1]!,
    patch: nums[2]!,
    prerelease: m[4] === undefined ? [] : m[4].split('.'),
    build: m[5] === undefined ? [] : m[5].split('.'),
    raw: text,
  };
}

/**
 * Lenient reading used for telemetry labels: connectors often report "1.2" for 1.2.0. Accepts
 * MAJOR, MAJOR.MINOR or a full version, with an optional leading "v". Null when still not one.
 */
export function coerceSemver(text: string): SemVer | null {
  const t = text.startsWith('v') ? text.slice(1) : text;
  const strict = parseSemver(t);
  if (strict !== null) return strict;
  if (/^(0|[1-9]\d*)(\.(0|[1-9]\d*))?$/.test(t)) {
    const [a, b] = t.split('.');
    return parseSemver(`${a}.${b ?? '0'}.0`);
  }
  return null;
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Number(a) - Number(b);
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** SemVer precedence: negative when a < b, 0 when equal precedence, positive when a > b. */
export function compareSemver(a: SemVer, b: SemVer): number {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  if (a.patch !== b.patch) return a.patch - b.patch;
  if (a.prerelease.length === 0) return b.prerelease.length === 0 ? 0 : 1;
  if (b.prerelease.length === 0) return -1;
  const n = Math.max(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < n; i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const c = compareIdentifiers(x, y);
    if (c !== 0) return c;
  }
  return 0;
}

/** Label matcher operators, as in Alertmanager: equal, not equal, regex match, regex no-match. */
export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

/** A silence mutes notifications of a tenant's alerts whose labels satisfy every matcher. Times epoch ms. */
export interface Silence {
  id: string;
  tenant: string;
  matchers: Matcher[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
  createdAt: number;
}

export type SilenceStatus = 'pending' | 'active' | 'expired';

export function silenceStatus(s: Silence, now: number): SilenceStatus {
  if (now >= s.endsAt) return 'expired';
  return now < s.startsAt ? 'pending' : 'active';
}

/** Longest regular expression accepted in a matcher, characters. */
export const MAX_MATCHER_REGEX = 256;

// A quantified group that itself contains a quantifier ("(a+)+", "(x*)*") can backtrack
// exponentially on label text; Node has no linear-time engine, so such patterns are refused.
const NESTED_QUANTIFIER = /\([^)]*[+*?}][^)]*\)\s*[+*{?]/;

/**
 * Compiles a matcher regex anchored at both ends (Alertmanager semantics). Returns the error text
 * instead when the pattern is invalid, too long or prone to catastrophic backtracking.
 */
export function compileMatcherRegex(pattern: string): RegExp | string {
  if (pattern.length > MAX_MATCHER_REGEX) return `regex longer than ${MAX_MATCHER_REGEX} characters`;
  if (NESTED_QUANTIFIER.test(pattern) || /\\[1-9]/.test(pattern)) return 'regex with nested quantifiers or back-references is not allowed';
  try {
    return new RegExp(`^(?:${pattern})$`, 'u');
  } catch (err) {
    return `invalid regex: ${(err as Error).message}`;
  }
}

const compiled = new Map<string, RegExp>();

function regexFor(pattern: string): RegExp | null {
  let re = compiled.get(pattern);
  if (re === undefined) {
    const c = compileMatcherRegex(pattern);
    if (typeof c === 'string') return null;
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(pattern, c);
    re = c;
  }
  return re;
}

/** True when `labels` satisfy the matcher; a missing label reads as the empty string. */
export function matches(m: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return regexFor(m.value)?.test(v) ?? false;
    case '!~':
      return !(regexFor(m.value)?.test(v) ?? false);
  }
}

/** Ids of the active silences that mute an alert with these labels. */
export function silencedBy(silences: readonly Silence[], labels: Readonly<Record<string, string>>, now: number): string[] {
  return silences.filter((s) => silenceStatus(s, now) === 'active' && s.matchers.every((m) => matches(m, labels))).map((s) => s.id);
}

import { BUILTIN_RULES, type EffectiveRule } from './defaults';
import { MATCH_KEYS, type MatchKey, type RuleOverride } from './rules-file';

/** The labels an override can match on; absent ones match only overrides that do not name them. */
export type Scope = Partial<Record<MatchKey, string>>;

function matches(o: RuleOverride, scope: Scope): boolean {
  for (const key of MATCH_KEYS) {
    const want = o.match[key];
    if (want !== undefined && scope[key] !== want) return false;
  }
  return true;
}

function specificity(o: RuleOverride): number {
  return MATCH_KEYS.filter((k) => o.match[k] !== undefined).length;
}

/**
 * Resolves the effective settings of each rule for a scope: built-in defaults, then every matching
 * override from the least to the most specific (file order breaks ties, later wins).
 */
export class RuleBook {
  private readonly sorted: RuleOverride[];
  private readonly cache = new Map<string, EffectiveRule[]>();

  constructor(readonly overrides: readonly RuleOverride[] = []) {
    this.sorted = overrides.map((o, i) => ({ o, i })).sort((a, b) => specificity(a.o) - specificity(b.o) || a.i - b.i).map((x) => x.o);
  }

  /** Every rule resolved for `scope`, disabled ones included (they carry `disabled: true`). */
  resolveAll(scope: Scope): EffectiveRule[] {
    const key = MATCH_KEYS.map((k) => scope[k] ?? '\u0000').join('\u001f');
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const out = BUILTIN_RULES.map((rule) => {
      let r: EffectiveRule = { ...rule };
      for (const o of this.sorted) if (o.rule === rule.name && matches(o, scope)) r = { ...r, ...o.set };
      return r;
    });
    // Bounded: one entry per distinct series; cleared wholesale rather than tracked per entry.
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(key, out);
    return out;
  }

  /** Overrides that could apply within a tenant (tenant-less ones and that tenant's own). */
  overridesFor(tenant: string): RuleOverride[] {
    return this.overrides.filter((o) => o.match.tenant === undefined || o.match.tenant === tenant);
  }
}

import type { EffectiveRule } from './rules/defaults';

/** What a verdict needs of its rule: name, text, comparison and lifecycle timing. */
export type VerdictRule = Pick<EffectiveRule, 'name' | 'summary' | 'op' | 'forMs' | 'keepFiringForMs'> & { metric: string };

/** A rule's verdict on one snapshot before the lifecycle step. */
export interface Verdict {
  rule: VerdictRule;
  labels: Record<string, string>;
  /** Breach against the firing and the clearing limit (hysteresis picks one once the state is known). */
  breachFire: boolean;
  breachClear: boolean;
  value: number | null;
  threshold: number | null;
  window: string;
  generatorURL: string;
  extra: Record<string, string>;
}

import { loadSpec } from './load';
import { Budget } from './resolve';
import { runSpectral } from './spectral';
import type { LintFinding } from './checks';

export { LINT_RULES, MAX_ACTIONS } from './checks';
export type { LintFinding } from './checks';

/** The lint result of one document. */
export interface LintReport {
  findings: LintFinding[];
  counts: { error: number; warning: number };
  actions: number;
  /** Actions with at least one example / actions, ratio 0–1 (1 with no actions): documentation completeness. */
  documentationCompleteness: number;
}

/**
 * Lints one OpenAPI 3.0/3.1 document (object, JSON or YAML text) with Spectral and the Pulsegate
 * connector ruleset. The document is first read by the budgeted loader (size, depth, nodes); only
 * an accepted document reaches Spectral, which resolves no `$ref` itself (the rules' functions
 * resolve local ones within `budget`). Throws SpecError naming `field`.
 */
export async function lintSpec(input: unknown, field = 'spec', budget: Budget = new Budget(field)): Promise<LintReport> {
  const doc = loadSpec(input, field);
  const { findings, actions, withExample } = await runSpectral(doc, budget);
  const counts = { error: 0, warning: 0 };
  for (const f of findings) counts[f.severity]++;
  return { findings, counts, actions, documentationCompleteness: actions === 0 ? 1 : withExample / actions };
}

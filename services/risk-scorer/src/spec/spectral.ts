// Spectral and its rulesets are loaded on the first lint, not at start-up: they are most of the risk
// scorer's start-up CPU time and idle memory, and a deployment that never lints never pays for them.
import type { IRuleResult, ParsedDocument, RulesetDefinition, Spectral } from '@stoplight/spectral-core';
import { checkConnector, LINT_RULES, type ConnectorChecks, type LintFinding } from './checks';
import { SpecError, type Json } from './load';
import type { Budget } from './resolve';

/** One lint run's state, found by the document object Spectral hands the rules' functions. */
interface Run {
  budget: Budget;
  checks?: ConnectorChecks;
  error?: unknown;
}

const runs = new WeakMap<object, Run>();

/**
 * The custom function behind every `pg-*` rule: the connector checks run once per document (one
 * budgeted pass shares resolved `$ref`s), and each rule reports its own findings.
 */
function pulsegateConnector(input: unknown, options: { rule: string }): Array<{ message: string; path: string[] }> {
  const run = typeof input === 'object' && input !== null ? runs.get(input) : undefined;
  if (run === undefined) return [];
  try {
    run.checks ??= checkConnector(input as Json, run.budget);
  } catch (err) {
    run.error ??= err;
    throw err;
  }
  return run.checks.findings.filter((f) => f.rule === options.rule).map((f) => ({ message: f.message, path: f.path }));
}

/**
 * The Pulsegate connector ruleset as a Spectral ruleset: one rule per LINT_RULES entry, same id and
 * severity, on the document root (`given: $`), unresolved (Spectral inlines no `$ref`).
 */
export const PULSEGATE_RULESET: RulesetDefinition = {
  rules: Object.fromEntries(
    LINT_RULES.map((r) => [
      r.id,
      {
        description: r.description,
        message: '{{error}}',
        severity: r.severity === 'error' ? 'error' : 'warn',
        given: '$',
        resolved: false,
        then: { function: pulsegateConnector, functionOptions: { rule: r.id } },
      },
    ]),
  ),
} as RulesetDefinition;

/**
 * Spectral rules of the standard `oas` ruleset that are turned off: they need the dependency graph
 * of Spectral's own resolver, which is replaced by one that fetches nothing (below).
 */
export const OAS_RULES_OFF = ['oas3-unused-component', 'oas2-unused-definition'] as const;

/**
 * What lint runs: Spectral's standard `oas` ruleset (its recommended rules, from
 * `@stoplight/spectral-rulesets`) and the Pulsegate connector ruleset.
 */
export async function lintRuleset(): Promise<RulesetDefinition> {
  const { oas } = await import('@stoplight/spectral-rulesets');
  return {
    extends: [[oas as RulesetDefinition, 'recommended']],
    rules: { ...(PULSEGATE_RULESET as { rules: Record<string, unknown> }).rules, ...Object.fromEntries(OAS_RULES_OFF.map((id) => [id, 'off'])) },
  } as RulesetDefinition;
}

/**
 * A resolver that resolves nothing: Spectral's default one would fetch remote and file `$ref`s
 * outside the analysis budgets. Local ones are resolved by the rules' functions within budget.
 */
const noResolver = {
  uriCache: new Map<string, unknown>(),
  resolve: (source: unknown) => Promise.resolve({ result: source, graph: null, errors: [], refMap: {} }),
};

let spectral: Promise<Spectral> | undefined;

function instance(): Promise<Spectral> {
  spectral ??= (async () => {
    const { Spectral } = await import('@stoplight/spectral-core');
    // The Resolver type is a class; Spectral only calls resolve() and reads uriCache.
    const s = new Spectral({ resolver: noResolver as unknown as NonNullable<ConstructorParameters<typeof Spectral>[0]>['resolver'] });
    s.setRuleset(await lintRuleset());
    return s;
  })();
  spectral.catch(() => (spectral = undefined));
  return spectral;
}

/**
 * Runs Spectral with the standard `oas` and the Pulsegate rulesets over a document the budgeted loader has accepted,
 * passed as already parsed (Spectral does not re-read the text). Findings keep the native checks'
 * JSON paths (Spectral would shorten paths such as parameters/pageSize to the closest existing
 * node) and document order. Throws the SpecError of a spent budget.
 */
export async function runSpectral(loaded: Json, budget: Budget): Promise<ConnectorChecks> {
  // A fresh top-level object per run (children shared, read only): concurrent runs over one input keep apart.
  const doc: Json = { ...loaded };
  const run: Run = { budget };
  runs.set(doc, run);
  let results: IRuleResult[];
  try {
    // A parser result (plain object) is taken as is; anything else Spectral would serialise and re-parse.
    const parsed = { parsed: { data: doc, diagnostics: [], ast: undefined, lineMap: undefined }, getLocationForJsonPath: () => undefined, source: undefined };
    results = await (await instance()).run(parsed as unknown as ConstructorParameters<typeof ParsedDocument>[0]);
  } catch (err) {
    throw run.error instanceof SpecError ? run.error : err;
  } finally {
    runs.delete(doc);
  }
  if (run.error !== undefined) throw run.error;
  const native = run.checks?.findings ?? [];
  // Spectral's results, matched back to the native finding with the same rule and message.
  const pending = new Map<string, number[]>();
  native.forEach((f, i) => {
    const key = `${f.rule}\n${f.message}`;
    pending.set(key, [...(pending.get(key) ?? []), i]);
  });
  const found: Array<{ order: number; finding: LintFinding }> = [];
  for (const r of results) {
    // Spectral severities: 0 error, 1 warn, 2 info, 3 hint; info and hint are not findings here.
    if (r.severity > 1) continue;
    const rule = String(r.code);
    const index = pending.get(`${rule}\n${r.message}`)?.shift();
    const severity = r.severity === 0 ? 'error' : 'warning';
    found.push({ order: index ?? native.length + found.length, finding: { rule, severity, path: index === undefined ? r.path.map(String) : native[index]!.path, message: r.message } });
  }
  found.sort((a, b) => a.order - b.order);
  return { findings: found.map((f) => f.finding), actions: run.checks?.actions ?? 0, withExample: run.checks?.withExample ?? 0 };
}

/** How much a finding matters: error = breaks existing callers, warning = may, info = additive or cosmetic. */
export type Severity = 'error' | 'warning' | 'info';

/** One rule of the catalogue; `id` is stable (pipelines and overrides name it). */
export interface Rule {
  id: string;
  severity: Severity;
  /** additive = a MINOR change under semantic versioning (info rules only). */
  additive?: boolean;
  area: 'operations' | 'request' | 'response' | 'security' | 'servers' | 'pagination' | 'deprecation';
  description: string;
}

/** Every diff rule, in documentation order. RULES.md is generated from this list. */
export const RULES: readonly Rule[] = [
  { id: 'operation-removed', severity: 'error', area: 'operations', description: 'An action (operationId, or method and path without one) is gone.' },
  { id: 'operation-id-renamed', severity: 'error', area: 'operations', description: 'Same method and path, new operationId: every flow bound to the old action breaks.' },
  { id: 'operation-added', severity: 'info', additive: true, area: 'operations', description: 'A new action.' },
  { id: 'request-parameter-required-added', severity: 'error', area: 'request', description: 'A new required parameter, or an optional one became required.' },
  { id: 'request-parameter-removed', severity: 'warning', area: 'request', description: 'A parameter callers may send is no longer documented.' },
  { id: 'request-parameter-added', severity: 'info', additive: true, area: 'request', description: 'A new optional parameter.' },
  { id: 'request-body-required-added', severity: 'error', area: 'request', description: 'The request body became required.' },
  { id: 'request-required-property-added', severity: 'error', area: 'request', description: 'A request body field (also inside arrays) is new and required, or became required.' },
  { id: 'request-property-removed', severity: 'warning', area: 'request', description: 'A request body field is no longer documented.' },
  { id: 'request-optional-property-added', severity: 'info', additive: true, area: 'request', description: 'A new optional request body field.' },
  { id: 'request-type-changed', severity: 'error', area: 'request', description: 'A parameter or request field accepts a type it did not accept before only partly (type narrowed or changed).' },
  { id: 'request-format-changed', severity: 'error', area: 'request', description: 'A parameter or request field changed its format.' },
  { id: 'request-enum-narrowed', severity: 'error', area: 'request', description: 'A parameter or request field no longer accepts some values (or gained an enum).' },
  { id: 'request-max-length-decreased', severity: 'error', area: 'request', description: 'maxLength (or maxItems) lowered on a parameter or request field.' },
  { id: 'request-min-increased', severity: 'error', area: 'request', description: 'minimum, minLength or minItems raised on a parameter or request field.' },
  { id: 'request-max-decreased', severity: 'error', area: 'request', description: 'maximum lowered on a parameter or request field.' },
  { id: 'request-media-type-removed', severity: 'error', area: 'request', description: 'A request body media type is no longer accepted.' },
  { id: 'response-required-property-removed', severity: 'error', area: 'response', description: 'A response field that was required is gone.' },
  { id: 'response-optional-property-removed', severity: 'warning', area: 'response', description: 'A response field that was optional is gone.' },
  { id: 'response-property-became-optional', severity: 'warning', area: 'response', description: 'A required response field became optional.' },
  { id: 'response-property-added', severity: 'info', additive: true, area: 'response', description: 'A new response field.' },
  { id: 'response-type-changed', severity: 'error', area: 'response', description: 'A response field may now have a type it could not have before.' },
  { id: 'response-enum-widened', severity: 'warning', area: 'response', description: 'A response field may now carry values callers have never seen.' },
  { id: 'response-success-status-removed', severity: 'error', area: 'response', description: 'A 2xx status code is gone.' },
  { id: 'response-status-removed', severity: 'warning', area: 'response', description: 'A non-2xx status code is no longer documented.' },
  { id: 'response-media-type-removed', severity: 'error', area: 'response', description: 'A response media type is gone.' },
  { id: 'security-scope-added', severity: 'error', area: 'security', description: 'An action requires a scope it did not require before.' },
  { id: 'security-scheme-changed', severity: 'error', area: 'security', description: 'An action uses other security schemes, or a scheme changed its type, location or flows.' },
  { id: 'security-scope-declared', severity: 'info', additive: true, area: 'security', description: 'A new OAuth scope is declared.' },
  { id: 'server-url-changed', severity: 'error', area: 'servers', description: 'The base URL or base path changed.' },
  { id: 'pagination-token-removed', severity: 'error', area: 'pagination', description: 'A continuation token (parameter or response field) is gone or renamed.' },
  { id: 'operation-deprecated', severity: 'warning', area: 'deprecation', description: 'An action is marked deprecated.' },
  { id: 'parameter-deprecated', severity: 'info', area: 'deprecation', description: 'A parameter or field is marked deprecated.' },
];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

/** The rule with this id, or undefined. */
export function ruleById(id: string): Rule | undefined {
  return BY_ID.get(id);
}

/** Severity overrides by rule id; 'off' drops the rule's findings. */
export type RuleOverrides = Record<string, Severity | 'off'>;

/** Throws an Error naming the first unknown rule id or severity in `overrides`. */
export function checkOverrides(overrides: RuleOverrides, what: string): void {
  for (const [id, sev] of Object.entries(overrides)) {
    if (!BY_ID.has(id)) throw new Error(`${what}: unknown rule ${JSON.stringify(id)}`);
    if (!['error', 'warning', 'info', 'off'].includes(sev)) throw new Error(`${what}: ${id} must be error, warning, info or off, got ${JSON.stringify(sev)}`);
  }
}

/** The catalogue as a Markdown table (the body of RULES.md). */
export function rulesMarkdown(): string {
  const lines = ['| Rule id | Severity | Area | What it detects |', '| --- | --- | --- | --- |'];
  for (const r of RULES) lines.push(`| \`${r.id}\` | ${r.severity} | ${r.area} | ${r.description} |`);
  return lines.join('\n') + '\n';
}

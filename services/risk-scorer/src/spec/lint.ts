import { listActions } from './diff';
import { loadSpec, type Json } from './load';
import { Budget, Resolver } from './resolve';

/** One lint finding, shaped like Spectral's: rule code, severity, JSON path, message. */
export interface LintFinding {
  rule: string;
  severity: 'error' | 'warning';
  /** JSON path into the document, e.g. ["paths", "/invoices", "get", "responses", "429"]. */
  path: string[];
  message: string;
}

/** The lint result of one document. */
export interface LintReport {
  findings: LintFinding[];
  counts: { error: number; warning: number };
  actions: number;
  /** Actions with at least one example / actions, ratio 0–1 (1 with no actions): documentation completeness. */
  documentationCompleteness: number;
}

/** Most actions a connector should expose before a modular split review (guide section 18). */
export const MAX_ACTIONS = 50;

/** The Pulsegate connector ruleset (guide sections 8, 9, 12, 18), in documentation order. */
export const LINT_RULES: ReadonlyArray<{ id: string; severity: 'error' | 'warning'; description: string }> = [
  { id: 'pg-operation-id', severity: 'error', description: 'Every action has an operationId (flows and telemetry name actions by it).' },
  { id: 'pg-operation-id-unique', severity: 'error', description: 'operationIds are unique.' },
  { id: 'pg-action-example', severity: 'warning', description: 'Every action has at least one example (parameter, request or response).' },
  { id: 'pg-429-retry-after', severity: 'warning', description: 'Every action documents 429 with a Retry-After header.' },
  { id: 'pg-error-schema', severity: 'warning', description: '4xx/5xx bodies use the standard error schema: error.code, error.message, error.correlationId.' },
  { id: 'pg-page-size-max', severity: 'warning', description: 'A pageSize parameter documents its maximum.' },
  { id: 'pg-continuation-token', severity: 'warning', description: 'Paged actions use a continuation token, not a page index or offset.' },
  { id: 'pg-no-environment-urls', severity: 'warning', description: 'Server URLs are not hard-coded environments (localhost, IPs, dev/test/staging hosts).' },
  { id: 'pg-max-actions', severity: 'warning', description: `At most ${MAX_ACTIONS} actions per connector.` },
  { id: 'pg-scopes-separate', severity: 'warning', description: 'Read and write scopes are separate: reads do not need write scopes, writes do not run on read scopes only.' },
];

const WRITE_METHODS = new Set(['post', 'put', 'patch', 'delete']);
const PAGE_INDEX = /^(page|pageNumber|pageIndex|offset|skip|start)$/i;
const TOKEN = /^(continuation_?token|next_?(page_?)?token|page_?token|skip_?token|cursor)$/i;
const ENV_HOST = /(^|[.-])(dev|develop|test|qa|uat|stage|staging|sandbox|preprod|int)([.-]|\d|$)|^localhost$|^\d{1,3}(\.\d{1,3}){3}$/i;

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function hasExample(node: unknown, r: Resolver): boolean {
  const n = obj(r.deref(node));
  if (n === undefined) return false;
  if (n.example !== undefined || (obj(n.examples) !== undefined && Object.keys(n.examples as Json).length > 0)) return true;
  const schema = obj(r.deref(n.schema));
  return schema !== undefined && (schema.example !== undefined || (Array.isArray(schema.examples) && schema.examples.length > 0));
}

/** Property names of a schema (allOf merged one level). */
function props(schema: unknown, r: Resolver): Map<string, unknown> {
  const s = obj(r.deref(schema));
  const out = new Map<string, unknown>();
  if (s === undefined) return out;
  for (const part of [s, ...(Array.isArray(s.allOf) ? s.allOf.map((p) => obj(r.deref(p)) ?? {}) : [])]) for (const [k, v] of Object.entries(obj(part.properties) ?? {})) out.set(k, v);
  return out;
}

function isStandardError(schema: unknown, r: Resolver): boolean {
  const top = props(schema, r);
  const inner = top.has('error') ? props(top.get('error'), r) : top;
  return ['code', 'message', 'correlationId'].every((k) => inner.has(k));
}

/**
 * Lints one OpenAPI 3.0/3.1 document (object, JSON or YAML text) with the Pulsegate connector
 * ruleset, within the same budgets as the diff. Throws SpecError naming `field`.
 */
export function lintSpec(input: unknown, field = 'spec', budget: Budget = new Budget(field)): LintReport {
  const doc = loadSpec(input, field);
  const r = new Resolver(doc, budget);
  const findings: LintFinding[] = [];
  const add = (rule: string, path: string[], message: string): void => {
    findings.push({ rule, severity: LINT_RULES.find((x) => x.id === rule)!.severity, path, message });
  };
  const actions = listActions(doc, r, budget);
  const seen = new Map<string, string>();
  let withExample = 0;
  for (const a of actions) {
    budget.tick();
    const at = ['paths', a.path, a.method];
    if (a.operationId === undefined) add('pg-operation-id', at, `${a.method.toUpperCase()} ${a.path} has no operationId`);
    else if (seen.has(a.operationId)) add('pg-operation-id-unique', [...at, 'operationId'], `operationId ${a.operationId} is also used by ${seen.get(a.operationId)}`);
    else seen.set(a.operationId, `${a.method.toUpperCase()} ${a.path}`);
    const params = (a.node.parameters as unknown[]).map((p) => obj(r.deref(p))).filter((p): p is Json => p !== undefined);
    const responses = obj(a.node.responses) ?? {};
    const bodies = [...Object.values(obj(obj(r.deref(a.node.requestBody))?.content) ?? {}), ...Object.values(responses).flatMap((resp) => Object.values(obj(obj(r.deref(resp))?.content) ?? {}))];
    if (params.some((p) => hasExample(p, r)) || bodies.some((m) => hasExample(m, r))) withExample++;
    else add('pg-action-example', at, `${a.id} has no example`);
    const throttled = obj(r.deref(responses['429']));
    if (throttled === undefined) add('pg-429-retry-after', [...at, 'responses'], `${a.id} does not document 429`);
    else if (!Object.keys(obj(throttled.headers) ?? {}).some((h) => h.toLowerCase() === 'retry-after')) add('pg-429-retry-after', [...at, 'responses', '429'], `${a.id}: 429 has no Retry-After header`);
    for (const [status, raw] of Object.entries(responses)) {
      if (!/^[45]/.test(status)) continue;
      for (const [media, m] of Object.entries(obj(obj(r.deref(raw))?.content) ?? {})) {
        if (/json/i.test(media) && !isStandardError(obj(m)?.schema, r)) add('pg-error-schema', [...at, 'responses', status, 'content', media], `${a.id} ${status}: error body lacks error.code, error.message or error.correlationId`);
      }
    }
    const pageSize = params.find((p) => p.name === 'pageSize');
    if (pageSize !== undefined && typeof obj(r.deref(pageSize.schema))?.maximum !== 'number') add('pg-page-size-max', [...at, 'parameters', 'pageSize'], `${a.id}: pageSize has no documented maximum`);
    const index = params.find((p) => typeof p.name === 'string' && PAGE_INDEX.test(p.name));
    if (index !== undefined && !params.some((p) => typeof p.name === 'string' && TOKEN.test(p.name))) add('pg-continuation-token', [...at, 'parameters', String(index.name)], `${a.id} pages by ${String(index.name)}; use a continuation token`);
    const reqs = Array.isArray(a.node.security) ? a.node.security : Array.isArray(doc.security) ? doc.security : [];
    for (const req of reqs) {
      const scopes = Object.values(obj(req) ?? {}).flatMap((l) => (Array.isArray(l) ? l.map(String) : []));
      const reads = scopes.filter((s) => /[.:_-]?read$/i.test(s));
      const writes = scopes.filter((s) => /[.:_-]?(write|admin|manage)$/i.test(s));
      if (!WRITE_METHODS.has(a.method) && writes.length > 0) add('pg-scopes-separate', [...at, 'security'], `${a.id} reads but requires ${writes.join(', ')}`);
      if (WRITE_METHODS.has(a.method) && reads.length > 0 && writes.length === 0) add('pg-scopes-separate', [...at, 'security'], `${a.id} writes on read scopes only (${reads.join(', ')})`);
    }
  }
  (Array.isArray(doc.servers) ? doc.servers : []).forEach((s, i) => {
    const url = obj(s)?.url;
    if (typeof url !== 'string') return;
    let host = '';
    try {
      host = new URL(url).hostname;
    } catch {
      return; // relative URLs carry no environment
    }
    if (ENV_HOST.test(host)) add('pg-no-environment-urls', ['servers', String(i), 'url'], `server ${url} looks like a hard-coded environment; use a variable`);
  });
  if (actions.length > MAX_ACTIONS) add('pg-max-actions', ['paths'], `${actions.length} actions (more than ${MAX_ACTIONS}); review a modular split`);
  const counts = { error: 0, warning: 0 };
  for (const f of findings) counts[f.severity]++;
  return { findings, counts, actions: actions.length, documentationCompleteness: actions.length === 0 ? 1 : withExample / actions.length };
}

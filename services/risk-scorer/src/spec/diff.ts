import { loadSpec, type Json } from './load';
import { Budget, Resolver } from './resolve';
import { checkOverrides, ruleById, type RuleOverrides, type Severity } from './rules';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
/** Names a continuation token goes by (parameter or top-level response field). */
const TOKEN_NAME = /^(continuation_?token|next_?(page_?)?token|page_?token|skip_?token|cursor|next_?link|@odata\.nextlink)$/i;

/** One change found between two versions, classified by a catalogue rule. */
export interface Finding {
  rule: string;
  severity: Severity;
  /** The action: its operationId, or "METHOD /path" without one; "" for document-level findings. */
  operation: string;
  /** Where: "query.status", "body.items[].id", "200 application/json continuationToken", "servers". */
  location: string;
  message: string;
}

/** An action of a document. */
export interface Action {
  /** operationId, or "METHOD /path" without one. */
  id: string;
  operationId: string | undefined;
  method: string;
  path: string;
  node: Json;
}

/** The result of comparing two documents. */
export interface SpecDiff {
  oldVersion: string | null;
  newVersion: string | null;
  actions: { old: number; new: number; added: string[]; removed: string[]; renamed: Array<{ from: string; to: string }>; modified: string[] };
  /** Every finding, errors first, then by action and location. */
  findings: Finding[];
  counts: Record<Severity, number>;
  /** OAuth scopes used or declared in the new document and not in the old one. */
  newScopes: string[];
  /** Field count of all 2xx response schemas (per action, each schema object counted once). */
  responseSchemaSize: { old: number; new: number };
}

/** Options of one comparison. */
export interface DiffOptions {
  /** Severity overrides by rule id (tenant overrides first, then the run's). */
  overrides?: RuleOverrides;
  /** Work budget; default MAX_NODES_VISITED nodes and MAX_ANALYSIS_MS. */
  budget?: Budget;
}

interface Side {
  doc: Json;
  r: Resolver;
}

type Emit = (rule: string, location: string, message: string) => void;

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

/** The actions of a document by id (a duplicate operationId keeps the last; lint reports it). */
function actionsOf(doc: Json, r: Resolver, budget: Budget): Map<string, Action> {
  return new Map(listActions(doc, r, budget).map((a) => [a.id, a]));
}

/** Every action of a document, in document order. */
export function listActions(doc: Json, r: Resolver, budget: Budget): Action[] {
  const out: Action[] = [];
  for (const [path, rawItem] of Object.entries(obj(doc.paths) ?? {})) {
    budget.tick();
    const item = obj(r.deref(rawItem));
    if (item === undefined) continue;
    for (const method of METHODS) {
      const op = obj(item[method]);
      if (op === undefined) continue;
      const operationId = typeof op.operationId === 'string' && op.operationId !== '' ? op.operationId : undefined;
      const id = operationId ?? `${method.toUpperCase()} ${path}`;
      out.push({ id, operationId, method, path, node: { ...op, parameters: [...(Array.isArray(item.parameters) ? item.parameters : []), ...(Array.isArray(op.parameters) ? op.parameters : [])] } });
    }
  }
  return out;
}

/** "GET /invoices/{}": path templates compare by shape, so renaming a path parameter is not a change. */
const shapeOf = (a: Action): string => `${a.method} ${a.path.replace(/\{[^}]*\}/g, '{}')}`;

function parametersOf(a: Action, r: Resolver): Map<string, Json> {
  const out = new Map<string, Json>();
  const templ = a.path.split('/').filter((s) => s.startsWith('{'));
  for (const raw of a.node.parameters as unknown[]) {
    const p = obj(r.deref(raw));
    if (p === undefined || typeof p.name !== 'string') continue;
    const where = typeof p.in === 'string' ? p.in : 'query';
    const key = where === 'path' ? `path.${templ.indexOf(`{${p.name}}`)}` : `${where}.${where === 'header' ? p.name.toLowerCase() : p.name}`;
    out.set(key, p);
  }
  return out;
}

function types(s: Json): Set<string> | undefined {
  const t = s.type;
  if (t === undefined) return undefined;
  const set = new Set((Array.isArray(t) ? t : [t]).map(String));
  if (s.nullable === true) set.add('null'); // OpenAPI 3.0
  return set;
}

/** a ⊆ b, with integer counted inside number. */
function subset(a: Set<string>, b: Set<string>): boolean {
  for (const t of a) if (!b.has(t) && !(t === 'integer' && b.has('number'))) return false;
  return true;
}

const text = (v: unknown): string => JSON.stringify(v) ?? 'null';
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

interface Flat {
  properties: Map<string, unknown>;
  required: Set<string>;
}

/** Properties and required names of a schema, allOf/oneOf/anyOf parts merged (one level of parts). */
function flatten(s: Json, r: Resolver, budget: Budget): Flat {
  const properties = new Map<string, unknown>();
  const required = new Set<string>();
  const add = (part: Json): void => {
    for (const [k, v] of Object.entries(obj(part.properties) ?? {})) {
      budget.tick();
      if (!properties.has(k)) properties.set(k, v);
    }
    if (Array.isArray(part.required)) for (const n of part.required) if (typeof n === 'string') required.add(n);
  };
  add(s);
  for (const combo of ['allOf', 'oneOf', 'anyOf'] as const) {
    if (!Array.isArray(s[combo])) continue;
    for (const raw of s[combo] as unknown[]) {
      const part = obj(r.deref(raw));
      if (part === undefined) continue;
      add(part);
      // Only allOf makes a part's required fields required for the whole.
      if (combo !== 'allOf' && Array.isArray(part.required)) for (const n of part.required) if (typeof n === 'string' && !(Array.isArray(s.required) && s.required.includes(n))) required.delete(n);
    }
  }
  return { properties, required };
}

/**
 * Compares two schemas on one side of an exchange. Each pair of schema objects is compared once
 * (reference fan-out and cycles cost one visit per pair); findings name the first location.
 */
class SchemaComparer {
  private readonly seen = new Map<object, Set<object>>();
  constructor(
    private readonly before: Side,
    private readonly after: Side,
    private readonly budget: Budget,
  ) {}

  compare(rawOld: unknown, rawNew: unknown, side: 'request' | 'response', loc: string, emit: Emit): void {
    const o = obj(this.before.r.deref(rawOld));
    const n = obj(this.after.r.deref(rawNew));
    if (o === undefined || n === undefined) return;
    this.budget.tick();
    let pairs = this.seen.get(o);
    if (pairs === undefined) this.seen.set(o, (pairs = new Set()));
    if (pairs.has(n)) return;
    pairs.add(n);
    const where = loc === '' ? '(schema)' : loc;
    const to = types(o);
    const tn = types(n);
    if (to !== undefined && tn !== undefined) {
      // Request: the new type must accept all the old did; response: it may only return what it did.
      const ok = side === 'request' ? subset(to, tn) : subset(tn, to);
      if (!ok) emit(`${side}-type-changed`, where, `type ${[...to].join('|')} -> ${[...tn].join('|')}`);
    }
    if (side === 'request' && typeof o.format === 'string' && typeof n.format === 'string' && o.format !== n.format) emit('request-format-changed', where, `format ${o.format} -> ${n.format}`);
    const eo = Array.isArray(o.enum) ? o.enum.map(text) : undefined;
    const en = Array.isArray(n.enum) ? n.enum.map(text) : undefined;
    if (side === 'request' && en !== undefined) {
      const dropped = eo === undefined ? ['(any value)'] : eo.filter((v) => !en.includes(v));
      if (dropped.length > 0) emit('request-enum-narrowed', where, `no longer accepted: ${dropped.join(', ')}`);
    }
    if (side === 'response' && eo !== undefined) {
      const added = en === undefined ? ['(any value)'] : en.filter((v) => !eo.includes(v));
      if (added.length > 0) emit('response-enum-widened', where, `new values: ${added.join(', ')}`);
    }
    if (side === 'request') {
      for (const k of ['maxLength', 'maxItems'] as const) {
        const a = num(o[k]);
        const b = num(n[k]);
        if (b !== undefined && (a === undefined || b < a)) emit('request-max-length-decreased', where, `${k} ${a ?? 'none'} -> ${b}`);
      }
      for (const k of ['minimum', 'exclusiveMinimum', 'minLength', 'minItems'] as const) {
        const a = num(o[k]);
        const b = num(n[k]);
        if (b !== undefined && (a === undefined ? !(b === 0 && k !== 'minimum' && k !== 'exclusiveMinimum') : b > a)) emit('request-min-increased', where, `${k} ${a ?? 'none'} -> ${b}`);
      }
      for (const k of ['maximum', 'exclusiveMaximum'] as const) {
        const a = num(o[k]);
        const b = num(n[k]);
        if (b !== undefined && (a === undefined || b < a)) emit('request-max-decreased', where, `${k} ${a ?? 'none'} -> ${b}`);
      }
    }
    if (n.deprecated === true && o.deprecated !== true && loc !== '') emit('parameter-deprecated', where, 'marked deprecated');
    const fo = flatten(o, this.before.r, this.budget);
    const fn = flatten(n, this.after.r, this.budget);
    const sub = (name: string): string => (loc === '' ? name : `${loc}.${name}`);
    for (const [name, s] of fo.properties) {
      const next = fn.properties.get(name);
      if (next === undefined) {
        if (side === 'response') emit(fo.required.has(name) ? 'response-required-property-removed' : 'response-optional-property-removed', sub(name), 'field removed');
        else emit('request-property-removed', sub(name), 'field removed');
        continue;
      }
      if (side === 'request' && fn.required.has(name) && !fo.required.has(name)) emit('request-required-property-added', sub(name), 'field became required');
      if (side === 'response' && fo.required.has(name) && !fn.required.has(name)) emit('response-property-became-optional', sub(name), 'field became optional');
      this.compare(s, next, side, sub(name), emit);
    }
    for (const name of fn.properties.keys()) {
      if (fo.properties.has(name)) continue;
      if (side === 'response') emit('response-property-added', sub(name), 'new field');
      else emit(fn.required.has(name) ? 'request-required-property-added' : 'request-optional-property-added', sub(name), fn.required.has(name) ? 'new required field' : 'new optional field');
    }
    if (o.items !== undefined && n.items !== undefined) this.compare(o.items, n.items, side, `${loc}[]`, emit);
  }
}

function contentOf(node: unknown, r: Resolver): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [media, m] of Object.entries(obj(obj(r.deref(node))?.content) ?? {})) out.set(media, obj(m)?.schema);
  return out;
}

/** Scheme name → scopes required by an action (its own security, else the document's). */
function requirementsOf(a: Action, doc: Json): Map<string, Set<string>> {
  const reqs = Array.isArray(a.node.security) ? a.node.security : Array.isArray(doc.security) ? doc.security : [];
  const out = new Map<string, Set<string>>();
  for (const req of reqs) for (const [scheme, scopes] of Object.entries(obj(req) ?? {})) {
    const set = out.get(scheme) ?? new Set<string>();
    if (Array.isArray(scopes)) for (const s of scopes) if (typeof s === 'string') set.add(s);
    out.set(scheme, set);
  }
  return out;
}

function schemeShape(doc: Json, r: Resolver, name: string): string {
  const s = obj(r.deref(obj(obj(doc.components)?.securitySchemes)?.[name]));
  if (s === undefined) return 'undefined';
  const flows = Object.entries(obj(s.flows) ?? {}).map(([k, f]) => [k, obj(f)?.authorizationUrl, obj(f)?.tokenUrl]);
  return text([s.type, s.scheme, s.in, s.name, s.openIdConnectUrl, flows.sort()]);
}

/** Every scope a document declares or requires. */
export function scopesOf(doc: Json, r: Resolver): Set<string> {
  const scopes = new Set<string>();
  const addReqs = (reqs: unknown): void => {
    if (Array.isArray(reqs)) for (const req of reqs) for (const list of Object.values(obj(req) ?? {})) if (Array.isArray(list)) for (const s of list) if (typeof s === 'string' && s !== '') scopes.add(s);
  };
  addReqs(doc.security);
  for (const scheme of Object.values(obj(obj(doc.components)?.securitySchemes) ?? {})) {
    for (const flow of Object.values(obj(obj(r.deref(scheme))?.flows) ?? {})) for (const s of Object.keys(obj(obj(flow)?.scopes) ?? {})) scopes.add(s);
  }
  for (const item of Object.values(obj(doc.paths) ?? {})) for (const m of METHODS) addReqs(obj(obj(r.deref(item))?.[m])?.security);
  return scopes;
}

/** Server URLs, sorted; empty when the document names none (then nothing can be compared). */
function serversOf(doc: Json): string[] {
  const list = Array.isArray(doc.servers) ? doc.servers : [];
  return list.map((s) => obj(s)?.url).filter((u): u is string => typeof u === 'string').map((u) => u.replace(/\/+$/, '')).sort();
}

/** Field count of the 2xx response schemas of an action; each schema object counted once. */
function responseSize(a: Action, r: Resolver, budget: Budget): number {
  const seen = new Set<object>();
  let size = 0;
  const walk = (raw: unknown, depth: number): void => {
    const s = obj(r.deref(raw));
    if (s === undefined || seen.has(s) || depth > 64) return;
    seen.add(s);
    budget.tick();
    const f = flatten(s, r, budget);
    size += f.properties.size;
    for (const p of f.properties.values()) walk(p, depth + 1);
    if (s.items !== undefined) {
      size++;
      walk(s.items, depth + 1);
    }
  };
  for (const [status, resp] of Object.entries(obj(a.node.responses) ?? {})) if (/^2/.test(status)) for (const schema of contentOf(resp, r).values()) walk(schema, 0);
  return size;
}

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/**
 * Compares two OpenAPI 3.0/3.1 documents (objects, JSON or YAML text) under the rule catalogue.
 * Throws SpecError naming `oldSpec` or `newSpec` when one cannot be read or exceeds a budget.
 */
export function diffSpecs(oldInput: unknown, newInput: unknown, options: DiffOptions = {}): SpecDiff {
  const overrides = options.overrides ?? {};
  checkOverrides(overrides, 'overrides');
  const beforeDoc = loadSpec(oldInput, 'oldSpec');
  const afterDoc = loadSpec(newInput, 'newSpec');
  const budget = options.budget ?? new Budget('newSpec');
  const before: Side = { doc: beforeDoc, r: new Resolver(beforeDoc, budget) };
  const after: Side = { doc: afterDoc, r: new Resolver(afterDoc, budget) };
  const findings: Finding[] = [];
  const touched = new Set<string>();
  const emitFor =
    (operation: string): Emit =>
    (rule, location, message) => {
      const severity = overrides[rule] ?? ruleById(rule)!.severity;
      if (severity === 'off') return;
      findings.push({ rule, severity, operation, location, message });
      if (operation !== '') touched.add(operation);
    };
  const doc = emitFor('');

  const opsOld = actionsOf(beforeDoc, before.r, budget);
  const opsNew = actionsOf(afterDoc, after.r, budget);
  const removed = [...opsOld.keys()].filter((k) => !opsNew.has(k));
  const added = new Set([...opsNew.keys()].filter((k) => !opsOld.has(k)));
  // A removed and an added action on the same method and path are one action, renamed.
  const renamed: Array<{ from: string; to: string }> = [];
  const pairs: Array<[Action, Action]> = [];
  for (const k of removed) {
    const a = opsOld.get(k)!;
    const match = [...added].find((n) => shapeOf(opsNew.get(n)!) === shapeOf(a));
    if (match === undefined) {
      emitFor(k)('operation-removed', '', `${a.method.toUpperCase()} ${a.path} removed`);
      continue;
    }
    added.delete(match);
    renamed.push({ from: k, to: match });
    emitFor(k)('operation-id-renamed', '', `renamed to ${match}`);
    pairs.push([a, opsNew.get(match)!]);
  }
  for (const k of added) emitFor(k)('operation-added', '', `${opsNew.get(k)!.method.toUpperCase()} ${opsNew.get(k)!.path} added`);
  for (const [k, a] of opsOld) if (opsNew.has(k)) pairs.push([a, opsNew.get(k)!]);

  for (const [a, b] of pairs) {
    const emit = emitFor(a.id);
    // Per action and side: each action affected by a shared schema lists the change; within one
    // action each schema pair is compared once (fan-out and cycles stay linear).
    const requests = new SchemaComparer(before, after, budget);
    const responses = new SchemaComparer(before, after, budget);
    if (b.node.deprecated === true && a.node.deprecated !== true) emit('operation-deprecated', '', 'action marked deprecated');
    // Parameters.
    const po = parametersOf(a, before.r);
    const pn = parametersOf(b, after.r);
    for (const [key, p] of pn) {
      const old = po.get(key);
      const req = p.required === true || key.startsWith('path.');
      if (old === undefined) emit(req ? 'request-parameter-required-added' : 'request-parameter-added', key, req ? 'new required parameter' : 'new optional parameter');
      else {
        if (req && !(old.required === true || key.startsWith('path.'))) emit('request-parameter-required-added', key, 'optional parameter became required');
        if (p.deprecated === true && old.deprecated !== true) emit('parameter-deprecated', key, 'parameter marked deprecated');
        requests.compare(old.schema, p.schema, 'request', key, emit);
      }
    }
    for (const [key, old] of po) {
      if (pn.has(key)) continue;
      emit('request-parameter-removed', key, 'parameter removed');
      if (TOKEN_NAME.test(String(old.name))) {
        const next = [...pn.values()].find((p) => TOKEN_NAME.test(String(p.name)));
        emit('pagination-token-removed', key, next === undefined ? 'continuation token parameter removed' : `continuation token renamed to ${String(next.name)}`);
      }
    }
    // Request body.
    const bo = obj(before.r.deref(a.node.requestBody));
    const bn = obj(after.r.deref(b.node.requestBody));
    if (bn?.required === true && bo?.required !== true) emit('request-body-required-added', 'body', 'request body became required');
    const co = contentOf(bo, before.r);
    const cn = contentOf(bn, after.r);
    if (bn !== undefined) for (const media of co.keys()) if (!cn.has(media)) emit('request-media-type-removed', `body ${media}`, 'media type no longer accepted');
    for (const [media, s] of cn) if (co.has(media)) requests.compare(co.get(media), s, 'request', 'body', emit);
    // Responses.
    const ro = obj(a.node.responses) ?? {};
    const rn = obj(b.node.responses) ?? {};
    for (const [status, resp] of Object.entries(ro)) {
      if (!(status in rn)) {
        emit(/^2/.test(status) ? 'response-success-status-removed' : 'response-status-removed', status, 'status code no longer documented');
        continue;
      }
      const mo = contentOf(resp, before.r);
      const mn = contentOf(rn[status], after.r);
      for (const [media, s] of mo) {
        if (!mn.has(media)) {
          emit('response-media-type-removed', `${status} ${media}`, 'media type removed');
          continue;
        }
        responses.compare(s, mn.get(media), 'response', '', (rule, location, message) => emit(rule, `${status} ${location}`, message));
        if (/^2/.test(status)) {
          const fo = flatten(obj(before.r.deref(s)) ?? {}, before.r, budget);
          const fn = flatten(obj(after.r.deref(mn.get(media))) ?? {}, after.r, budget);
          for (const name of fo.properties.keys()) {
            if (!TOKEN_NAME.test(name) || fn.properties.has(name)) continue;
            const next = [...fn.properties.keys()].find((k) => TOKEN_NAME.test(k));
            emit('pagination-token-removed', `${status} ${name}`, next === undefined ? 'continuation token field removed' : `continuation token renamed to ${next}`);
          }
        }
      }
    }
    // Security.
    const so = requirementsOf(a, beforeDoc);
    const sn = requirementsOf(b, afterDoc);
    const schemesChanged = [...sn.keys()].some((k) => !so.has(k)) || [...so.keys()].some((k) => !sn.has(k)) || [...sn.keys()].some((k) => schemeShape(beforeDoc, before.r, k) !== schemeShape(afterDoc, after.r, k));
    if (schemesChanged && (so.size > 0 || sn.size > 0)) emit('security-scheme-changed', 'security', `schemes ${[...so.keys()].join(', ') || 'none'} -> ${[...sn.keys()].join(', ') || 'none'}`);
    for (const [scheme, scopes] of sn) {
      const had = so.get(scheme);
      if (had === undefined) continue;
      const extra = [...scopes].filter((s) => !had.has(s));
      if (extra.length > 0) emit('security-scope-added', 'security', `now requires ${extra.join(', ')}`);
    }
  }
  // Document level.
  const sOld = serversOf(beforeDoc);
  const sNew = serversOf(afterDoc);
  if (sOld.length > 0 && sNew.length > 0 && text(sOld) !== text(sNew)) doc('server-url-changed', 'servers', `${sOld.join(', ')} -> ${sNew.join(', ')}`);
  const scopesBefore = scopesOf(beforeDoc, before.r);
  const newScopes = [...scopesOf(afterDoc, after.r)].filter((s) => !scopesBefore.has(s)).sort();
  for (const s of newScopes) doc('security-scope-declared', 'security', `new scope ${s}`);

  findings.sort((x, y) => RANK[x.severity] - RANK[y.severity] || (x.operation < y.operation ? -1 : x.operation > y.operation ? 1 : 0) || (x.location < y.location ? -1 : x.location > y.location ? 1 : 0));
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  let sizeOld = 0;
  let sizeNew = 0;
  for (const a of opsOld.values()) sizeOld += responseSize(a, before.r, budget);
  for (const a of opsNew.values()) sizeNew += responseSize(a, after.r, budget);
  const version = (d: Json): string | null => (typeof obj(d.info)?.version === 'string' ? (obj(d.info)!.version as string) : null);
  return {
    oldVersion: version(beforeDoc),
    newVersion: version(afterDoc),
    actions: {
      old: opsOld.size,
      new: opsNew.size,
      added: [...added].sort(),
      removed: removed.filter((k) => !renamed.some((x) => x.from === k)).sort(),
      renamed,
      modified: pairs.map(([a]) => a.id).filter((id) => touched.has(id)).sort(),
    },
    findings,
    counts,
    newScopes,
    responseSchemaSize: { old: sizeOld, new: sizeNew },
  };
}

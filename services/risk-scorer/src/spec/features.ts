import { loadSpec, SpecError, type Json } from './load';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
/** Keys that document but do not change behaviour: ignored when deciding an operation changed. */
const DOC_ONLY = new Set(['description', 'summary', 'example', 'examples', 'title', 'externalDocs', 'x-ms-summary']);
/** Deepest schema nesting followed, and most field paths listed per schema (bounds hostile input). */
const MAX_DEPTH = 32;
const MAX_FIELDS = 20_000;

/** One breaking change between two versions of an API. */
export interface BreakingChange {
  kind: 'operation-removed' | 'response-field-removed' | 'required-parameter-added' | 'required-request-field-added' | 'enum-narrowed' | 'parameter-type-changed';
  /** "METHOD /path" of the operation. */
  operation: string;
  /** Where in the operation, e.g. "query.status" or "200 items[].status". */
  location: string;
  detail: string;
}

/** The comparison of two OpenAPI 3.x documents (see README for definitions). */
export interface SpecFeatures {
  operations: {
    old: number;
    new: number;
    added: string[];
    removed: string[];
    modified: string[];
  };
  breakingChanges: BreakingChange[];
  /** OAuth scopes used or declared in the new document but not in the old one. */
  newScopes: string[];
  /** Field count of all 2xx JSON response schemas (properties and array items, $ref resolved). */
  responseSchemaSize: { old: number; new: number };
  /** The model inputs derived from the comparison. */
  features: {
    /** modified operations / operations present in both documents, 0–1 (0 when none in common). */
    operationsModifiedShare: number;
    /** Count of newScopes. */
    newScopesAdded: number;
    /** (new size − old size) / old size, ratio (new size when old is 0; may be negative). */
    payloadSizeIncrease: number;
    /** Count of breakingChanges. */
    breakingChanges: number;
  };
}

interface Operation {
  key: string;
  parameters: Map<string, Json>;
  requestSchema: Json | undefined;
  requestRequired: boolean;
  responses: Map<string, Json | undefined>;
  canonical: string;
}

/** Resolves local `$ref`s deeply; a reference cycle is cut and marked with `$circular`. */
function deref(node: unknown, doc: Json, stack: string[] = [], depth = 0): unknown {
  if (depth > MAX_DEPTH * 4) return { $truncated: true };
  if (Array.isArray(node)) return node.map((n) => deref(n, doc, stack, depth + 1));
  if (typeof node !== 'object' || node === null) return node;
  const o = node as Json;
  if (typeof o.$ref === 'string') {
    const ref = o.$ref;
    if (stack.includes(ref)) return { $circular: ref };
    if (!ref.startsWith('#/')) return { $external: ref };
    let target: unknown = doc;
    for (const raw of ref.slice(2).split('/')) {
      const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      target = typeof target === 'object' && target !== null ? (target as Json)[part] : undefined;
    }
    if (target === undefined) return { $unresolved: ref };
    return deref(target, doc, [...stack, ref], depth + 1);
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) out[k] = deref(v, doc, stack, depth + 1);
  return out;
}

/** JSON with sorted keys and documentation-only keys removed: equal text = equal behaviour. */
function canonical(node: unknown): string {
  if (Array.isArray(node)) return '[' + node.map(canonical).join(',') + ']';
  if (typeof node !== 'object' || node === null) return JSON.stringify(node) ?? 'null';
  const o = node as Json;
  return '{' + Object.keys(o).filter((k) => !DOC_ONLY.has(k)).sort().map((k) => JSON.stringify(k) + ':' + canonical(o[k])).join(',') + '}';
}

function jsonSchemaOf(content: unknown): Json | undefined {
  if (typeof content !== 'object' || content === null) return undefined;
  const c = content as Record<string, { schema?: Json }>;
  const key = Object.keys(c).find((k) => k === 'application/json') ?? Object.keys(c).find((k) => /json/i.test(k)) ?? Object.keys(c)[0];
  return key === undefined ? undefined : c[key]?.schema;
}

function operationsOf(doc: Json): Map<string, Operation> {
  const ops = new Map<string, Operation>();
  const paths = (doc.paths ?? {}) as Record<string, unknown>;
  for (const [path, rawItem] of Object.entries(paths)) {
    const item = deref(rawItem, doc) as Json;
    if (typeof item !== 'object' || item === null) continue;
    // Path templates compare by shape: /invoices/{id} and /invoices/{invoiceId} are one operation.
    const shape = path.replace(/\{[^}]*\}/g, '{}');
    const shared = Array.isArray(item.parameters) ? (item.parameters as Json[]) : [];
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (typeof op !== 'object' || op === null) continue;
      const parameters = new Map<string, Json>();
      for (const p of [...shared, ...(Array.isArray(op.parameters) ? (op.parameters as Json[]) : [])]) {
        if (typeof p !== 'object' || p === null || typeof p.name !== 'string') continue;
        const where = typeof p.in === 'string' ? p.in : 'query';
        // Path parameters are named by position, so renaming one is not a change.
        const name = where === 'path' ? `path.${path.split('/').filter((s) => s.startsWith('{')).indexOf(`{${p.name}}`)}` : `${where}.${where === 'header' ? p.name.toLowerCase() : p.name}`;
        parameters.set(name, p);
      }
      const body = op.requestBody as Json | undefined;
      const responses = new Map<string, Json | undefined>();
      for (const [status, r] of Object.entries((op.responses ?? {}) as Record<string, Json>)) {
        responses.set(status, typeof r === 'object' && r !== null ? jsonSchemaOf(r.content) : undefined);
      }
      const key = `${method.toUpperCase()} ${shape}`;
      ops.set(key, {
        key,
        parameters,
        requestSchema: body === undefined ? undefined : jsonSchemaOf(body.content),
        requestRequired: body?.required === true,
        responses,
        canonical: canonical({ parameters: [...parameters.entries()].sort(([a], [b]) => (a < b ? -1 : 1)), requestBody: body ?? null, responses: op.responses ?? null, security: op.security ?? null }),
      });
    }
  }
  return ops;
}

/** Field paths of a schema: `a`, `a.b`, `items[]`, `items[].id`; allOf/oneOf/anyOf merged. */
function fieldsOf(schema: unknown, prefix = '', out = new Map<string, Json>(), depth = 0): Map<string, Json> {
  if (typeof schema !== 'object' || schema === null || depth > MAX_DEPTH || out.size >= MAX_FIELDS) return out;
  const s = schema as Json;
  for (const combo of ['allOf', 'oneOf', 'anyOf'] as const) {
    if (Array.isArray(s[combo])) for (const part of s[combo] as unknown[]) fieldsOf(part, prefix, out, depth + 1);
  }
  if (typeof s.properties === 'object' && s.properties !== null) {
    for (const [name, sub] of Object.entries(s.properties as Json)) {
      if (out.size >= MAX_FIELDS) break;
      const path = prefix === '' ? name : `${prefix}.${name}`;
      out.set(path, (sub ?? {}) as Json);
      fieldsOf(sub, path, out, depth + 1);
    }
  }
  if (s.items !== undefined && typeof s.items === 'object') {
    const path = `${prefix}[]`;
    out.set(path, s.items as Json);
    fieldsOf(s.items, path, out, depth + 1);
  }
  return out;
}

function requiredFieldsOf(schema: unknown, prefix = '', out = new Set<string>(), depth = 0): Set<string> {
  if (typeof schema !== 'object' || schema === null || depth > MAX_DEPTH || out.size >= MAX_FIELDS) return out;
  const s = schema as Json;
  if (Array.isArray(s.allOf)) for (const part of s.allOf as unknown[]) requiredFieldsOf(part, prefix, out, depth + 1);
  const props = (typeof s.properties === 'object' && s.properties !== null ? s.properties : {}) as Json;
  if (Array.isArray(s.required)) {
    for (const name of s.required as unknown[]) if (typeof name === 'string') out.add(prefix === '' ? name : `${prefix}.${name}`);
  }
  for (const [name, sub] of Object.entries(props)) requiredFieldsOf(sub, prefix === '' ? name : `${prefix}.${name}`, out, depth + 1);
  return out;
}

function enumOf(schema: unknown): unknown[] | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const e = (schema as Json).enum;
  return Array.isArray(e) ? e : undefined;
}

function typeOf(schema: unknown): string | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const t = (schema as Json).type;
  if (t === undefined) return undefined;
  return Array.isArray(t) ? [...t].map(String).sort().join('|') : String(t);
}

/** Values of `before` missing from `after`, as text. */
function narrowed(before: unknown[], after: unknown[]): string[] {
  const keep = new Set(after.map((v) => JSON.stringify(v)));
  return before.map((v) => JSON.stringify(v)).filter((v) => !keep.has(v));
}

function responseSize(ops: Map<string, Operation>): number {
  let size = 0;
  for (const op of ops.values()) for (const [status, schema] of op.responses) if (/^2/.test(status)) size += fieldsOf(schema).size;
  return size;
}

function scopesOf(doc: Json): Set<string> {
  const scopes = new Set<string>();
  const addRequirements = (reqs: unknown): void => {
    if (!Array.isArray(reqs)) return;
    for (const r of reqs) if (typeof r === 'object' && r !== null) for (const list of Object.values(r as Json)) if (Array.isArray(list)) for (const s of list) if (typeof s === 'string' && s !== '') scopes.add(s);
  };
  addRequirements(doc.security);
  const schemes = ((doc.components as Json | undefined)?.securitySchemes ?? {}) as Json;
  for (const scheme of Object.values(schemes)) {
    const flows = (scheme as Json | null)?.flows;
    if (typeof flows !== 'object' || flows === null) continue;
    for (const flow of Object.values(flows as Json)) {
      const declared = (flow as Json | null)?.scopes;
      if (typeof declared === 'object' && declared !== null) for (const s of Object.keys(declared)) scopes.add(s);
    }
  }
  for (const item of Object.values((doc.paths ?? {}) as Json)) {
    if (typeof item !== 'object' || item === null) continue;
    for (const m of METHODS) addRequirements(((item as Json)[m] as Json | undefined)?.security);
  }
  return scopes;
}

function compareOperation(key: string, before: Operation, after: Operation, out: BreakingChange[]): void {
  for (const [name, p] of after.parameters) {
    const old = before.parameters.get(name);
    const required = p.required === true || name.startsWith('path.');
    if (required && (old === undefined || !(old.required === true || name.startsWith('path.')))) {
      out.push({ kind: 'required-parameter-added', operation: key, location: name, detail: old === undefined ? 'new required parameter' : 'optional parameter became required' });
    }
    if (old === undefined) continue;
    const tBefore = typeOf(old.schema);
    const tAfter = typeOf(p.schema);
    if (tBefore !== undefined && tAfter !== undefined && tBefore !== tAfter) {
      out.push({ kind: 'parameter-type-changed', operation: key, location: name, detail: `type ${tBefore} -> ${tAfter}` });
    }
    const eBefore = enumOf(old.schema);
    const eAfter = enumOf(p.schema);
    if (eAfter !== undefined) {
      // An enum where there was none narrows every value; otherwise list the values dropped.
      const dropped = eBefore === undefined ? ['(any value)'] : narrowed(eBefore, eAfter);
      if (dropped.length > 0) out.push({ kind: 'enum-narrowed', operation: key, location: name, detail: `no longer accepted: ${dropped.join(', ')}` });
    }
  }
  // Request body: new required fields and narrowed enums break existing callers.
  if (after.requestSchema !== undefined) {
    const reqBefore = before.requestSchema === undefined ? new Set<string>() : requiredFieldsOf(before.requestSchema);
    for (const f of requiredFieldsOf(after.requestSchema)) {
      if (!reqBefore.has(f)) out.push({ kind: 'required-request-field-added', operation: key, location: `body.${f}`, detail: 'request field became required' });
    }
    const fBefore = before.requestSchema === undefined ? new Map<string, Json>() : fieldsOf(before.requestSchema);
    for (const [f, s] of fieldsOf(after.requestSchema)) {
      const eAfter = enumOf(s);
      const eBefore = enumOf(fBefore.get(f));
      if (eAfter !== undefined && eBefore !== undefined) {
        const dropped = narrowed(eBefore, eAfter);
        if (dropped.length > 0) out.push({ kind: 'enum-narrowed', operation: key, location: `body.${f}`, detail: `no longer accepted: ${dropped.join(', ')}` });
      }
    }
  } else if (after.requestRequired && !before.requestRequired) {
    out.push({ kind: 'required-request-field-added', operation: key, location: 'body', detail: 'request body became required' });
  }
  // Responses: a field callers could read before and cannot now.
  for (const [status, schema] of before.responses) {
    if (!/^2/.test(status)) continue;
    const fAfter = fieldsOf(after.responses.get(status));
    for (const f of fieldsOf(schema).keys()) {
      if (!fAfter.has(f)) out.push({ kind: 'response-field-removed', operation: key, location: `${status} ${f}`, detail: 'response field removed' });
    }
  }
}

/**
 * Compares two OpenAPI 3.x documents (objects, JSON or YAML text). Throws SpecError naming
 * `oldSpec` or `newSpec` when one cannot be read.
 */
export function computeSpecFeatures(oldDoc: unknown, newDoc: unknown): SpecFeatures {
  const before = loadSpec(oldDoc, 'oldSpec');
  const after = loadSpec(newDoc, 'newSpec');
  const opsBefore = operationsOf(before);
  const opsAfter = operationsOf(after);
  const added = [...opsAfter.keys()].filter((k) => !opsBefore.has(k)).sort();
  const removed = [...opsBefore.keys()].filter((k) => !opsAfter.has(k)).sort();
  const modified: string[] = [];
  const breaking: BreakingChange[] = removed.map((k) => ({ kind: 'operation-removed', operation: k, location: '', detail: 'operation removed' }));
  let common = 0;
  for (const [k, op] of opsBefore) {
    const next = opsAfter.get(k);
    if (next === undefined) continue;
    common++;
    if (next.canonical !== op.canonical) modified.push(k);
    compareOperation(k, op, next, breaking);
  }
  modified.sort();
  const scopesBefore = scopesOf(before);
  const newScopes = [...scopesOf(after)].filter((s) => !scopesBefore.has(s)).sort();
  const sizeOld = responseSize(opsBefore);
  const sizeNew = responseSize(opsAfter);
  return {
    operations: { old: opsBefore.size, new: opsAfter.size, added, removed, modified },
    breakingChanges: breaking,
    newScopes,
    responseSchemaSize: { old: sizeOld, new: sizeNew },
    features: {
      operationsModifiedShare: common === 0 ? 0 : modified.length / common,
      newScopesAdded: newScopes.length,
      payloadSizeIncrease: sizeOld === 0 ? sizeNew : (sizeNew - sizeOld) / sizeOld,
      breakingChanges: breaking.length,
    },
  };
}

export { SpecError };

import { parse as parseYaml } from 'yaml';

/**
 * An OpenAPI document that could not be read or analysed; `field` names which input was wrong.
 * `tooComplex` = it hit an analysis budget (size, depth, nodes, time) rather than being invalid.
 */
export class SpecError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly tooComplex = false,
  ) {
    super(`${field}: ${message}`);
    this.name = 'SpecError';
  }
}

export type Json = Record<string, unknown>;

/** Largest OpenAPI document accepted as text, in characters (5 MiB). */
export const MAX_SPEC_CHARS = 5 * 1024 * 1024;
/** Deepest nesting of a document accepted (objects and arrays, levels). */
export const MAX_SPEC_DEPTH = 64;
/** Most JSON nodes (objects, arrays, scalars) a document may hold. */
export const MAX_SPEC_NODES = 500_000;
/** Most YAML aliases expanded per document (bounds "billion laughs"). */
export const MAX_YAML_ALIASES = 100;

/**
 * Checks the size and depth of a parsed document without recursion (a deep document cannot
 * overflow the stack here). Throws SpecError (tooComplex) naming the budget exceeded.
 */
function checkShape(doc: unknown, field: string): void {
  const stack: Array<[unknown, number]> = [[doc, 1]];
  let nodes = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (++nodes > MAX_SPEC_NODES) throw new SpecError(field, `document has more than ${MAX_SPEC_NODES} nodes`, true);
    if (typeof node !== 'object' || node === null) continue;
    if (depth > MAX_SPEC_DEPTH) throw new SpecError(field, `document nests deeper than ${MAX_SPEC_DEPTH} levels`, true);
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
}

/** Rejects JSON text nested deeper than MAX_SPEC_DEPTH before the recursive parser sees it. */
function checkJsonDepth(text: string, field: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_SPEC_DEPTH) throw new SpecError(field, `document nests deeper than ${MAX_SPEC_DEPTH} levels`, true);
    } else if (c === 125 || c === 93) depth--;
  }
}

/**
 * Reads an OpenAPI 3.0 or 3.1 document given as an object or as JSON/YAML text, within budgets:
 * MAX_SPEC_CHARS, MAX_SPEC_DEPTH, MAX_SPEC_NODES and MAX_YAML_ALIASES.
 */
export function loadSpec(input: unknown, field: string): Json {
  let doc: unknown = input;
  if (typeof input === 'string') {
    if (input.length > MAX_SPEC_CHARS) throw new SpecError(field, `document longer than ${MAX_SPEC_CHARS} characters`, true);
    const trimmed = input.trimStart();
    try {
      if (trimmed.startsWith('{')) {
        checkJsonDepth(trimmed, field);
        doc = JSON.parse(trimmed);
      } else {
        // A stack overflow on absurd YAML nesting is caught below; the rest is checked after parsing.
        doc = parseYaml(input, { maxAliasCount: MAX_YAML_ALIASES, uniqueKeys: false });
      }
    } catch (err) {
      if (err instanceof SpecError) throw err;
      throw new SpecError(field, `not valid JSON or YAML (${(err as Error).message.split('\n')[0]})`);
    }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new SpecError(field, 'must be an OpenAPI document object');
  checkShape(doc, field);
  const o = doc as Json;
  if (typeof o.openapi !== 'string' || !/^3\.[01](\.\d+)?/.test(o.openapi)) {
    throw new SpecError(field, `"openapi" must be a 3.0 or 3.1 version string, got ${JSON.stringify(o.openapi ?? null)}`);
  }
  if (o.paths !== undefined && (typeof o.paths !== 'object' || o.paths === null || Array.isArray(o.paths))) {
    throw new SpecError(field, '"paths" must be an object');
  }
  return o;
}

import { parse as parseYaml } from 'yaml';

/** An OpenAPI document that could not be read; `field` names which input was wrong. */
export class SpecError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'SpecError';
  }
}

export type Json = Record<string, unknown>;

/** Largest OpenAPI document accepted as text, in characters (5 MiB). */
export const MAX_SPEC_CHARS = 5 * 1024 * 1024;

/**
 * Reads an OpenAPI 3.x document given as an object or as JSON/YAML text. YAML aliases are limited
 * so a "billion laughs" document cannot blow up memory.
 */
export function loadSpec(input: unknown, field: string): Json {
  let doc: unknown = input;
  if (typeof input === 'string') {
    if (input.length > MAX_SPEC_CHARS) throw new SpecError(field, `document longer than ${MAX_SPEC_CHARS} characters`);
    try {
      doc = parseYaml(input, { maxAliasCount: 100, uniqueKeys: false });
    } catch (err) {
      throw new SpecError(field, `not valid JSON or YAML (${(err as Error).message.split('\n')[0]})`);
    }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new SpecError(field, 'must be an OpenAPI document object');
  const o = doc as Json;
  if (typeof o.openapi !== 'string' || !/^3\.\d+(\.\d+)?/.test(o.openapi)) {
    throw new SpecError(field, `"openapi" must be a 3.x version string, got ${JSON.stringify(o.openapi ?? null)}`);
  }
  if (o.paths !== undefined && (typeof o.paths !== 'object' || o.paths === null || Array.isArray(o.paths))) {
    throw new SpecError(field, '"paths" must be an object');
  }
  return o;
}

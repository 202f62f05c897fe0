import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';

type Json = Record<string, unknown>;

/**
 * Checks HTTP answers against an OpenAPI 3.1 document: finds the operation for a concrete path,
 * then validates the body against the response schema for its status (JSON Schema 2020-12, as
 * OpenAPI 3.1 uses). Components are resolved through `$ref: '#/components/...'`.
 */
export class OpenApiChecker {
  private readonly doc: Json;
  private readonly ajv: InstanceType<typeof Ajv2020>;
  private readonly routes: Array<{ template: string; re: RegExp; item: Json }>;

  constructor(documentPath: string) {
    const text = readFileSync(documentPath, 'utf8');
    this.doc = (documentPath.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as Json;
    if (typeof this.doc.openapi !== 'string' || !this.doc.openapi.startsWith('3.1')) {
      throw new Error(`${documentPath}: not an OpenAPI 3.1 document`);
    }
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    this.ajv.addSchema({ $id: 'openapi', components: this.doc.components ?? {} } as Json);
    const paths = (this.doc.paths ?? {}) as Record<string, Json>;
    this.routes = Object.entries(paths).map(([template, item]) => ({
      template,
      // Path parameters match one segment; a literal ":" (as in /v1/rules:validate) stays literal.
      re: new RegExp('^' + template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$'),
      item,
    }));
  }

  /** Every documented "METHOD /path" pair. */
  operations(): string[] {
    const out: string[] = [];
    for (const r of this.routes) for (const m of Object.keys(r.item)) if (['get', 'post', 'put', 'delete', 'patch'].includes(m)) out.push(`${m.toUpperCase()} ${r.template}`);
    return out;
  }

  /** Returns a list of problems (empty when the answer matches the document). */
  check(method: string, path: string, status: number, body: unknown): string[] {
    const pathOnly = path.split('?')[0]!;
    const route = this.routes.find((r) => r.re.test(pathOnly));
    if (route === undefined) return [`no documented path matches ${pathOnly}`];
    const op = route.item[method.toLowerCase()] as Json | undefined;
    if (op === undefined) return [`${method} ${route.template} is not documented`];
    const responses = (op.responses ?? {}) as Record<string, Json>;
    let response = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
    if (response === undefined) return [`${method} ${route.template}: status ${status} is not documented`];
    if (typeof response.$ref === 'string') response = this.resolve(response.$ref);
    const content = response.content as Record<string, { schema?: Json }> | undefined;
    const schema = content?.['application/json']?.schema;
    if (schema === undefined) return [];
    const validate = this.ajv.compile({ $id: `check-${Math.random()}`, ...this.rewriteRefs(schema) } as Json);
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e) => `${method} ${route.template} ${status}: ${e.instancePath || '(body)'} ${e.message ?? ''}`);
  }

  private resolve(ref: string): Json {
    let node: unknown = this.doc;
    for (const part of ref.replace(/^#\//, '').split('/')) node = (node as Json)[part];
    return node as Json;
  }

  private rewriteRefs(schema: Json): Json {
    return JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\/components\//g, '"$ref":"openapi#/components/')) as Json;
  }
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINT_RULES, lintSpec } from '../../src/spec/lint';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const good = (): Doc => JSON.parse(readFileSync(join(__dirname, '..', '..', 'examples', 'contoso-sales-2.0.0.json'), 'utf8')) as Doc;
const list = (d: Doc): Doc => d.paths['/invoices'].get;
const create = (d: Doc): Doc => d.paths['/invoices'].post;

/** Each rule with an edit of the good spec that breaks it, and the JSON path it should name. */
const BAD: Array<{ rule: string; edit: (d: Doc) => void; path: string[] }> = [
  { rule: 'pg-operation-id', edit: (d) => delete list(d).operationId, path: ['paths', '/invoices', 'get'] },
  { rule: 'pg-operation-id-unique', edit: (d) => (create(d).operationId = 'ListInvoices'), path: ['paths', '/invoices', 'post', 'operationId'] },
  {
    rule: 'pg-action-example',
    edit: (d) => {
      delete create(d).requestBody.content['application/json'].example;
      for (const r of Object.values(create(d).responses) as Doc[]) delete r.content['application/json'].example;
    },
    path: ['paths', '/invoices', 'post'],
  },
  { rule: 'pg-429-retry-after', edit: (d) => delete list(d).responses['429'].headers, path: ['paths', '/invoices', 'get', 'responses', '429'] },
  { rule: 'pg-error-schema', edit: (d) => (list(d).responses['400'].content['application/json'].schema = { type: 'object', properties: { message: { type: 'string' } } }), path: ['paths', '/invoices', 'get', 'responses', '400', 'content', 'application/json'] },
  { rule: 'pg-page-size-max', edit: (d) => delete list(d).parameters[1].schema.maximum, path: ['paths', '/invoices', 'get', 'parameters', 'pageSize'] },
  { rule: 'pg-continuation-token', edit: (d) => (list(d).parameters[2] = { name: 'page', in: 'query', schema: { type: 'integer' } }), path: ['paths', '/invoices', 'get', 'parameters', 'page'] },
  { rule: 'pg-no-environment-urls', edit: (d) => (d.servers = [{ url: 'https://api-staging.contoso.com/sales/v1' }]), path: ['servers', '0', 'url'] },
  {
    rule: 'pg-max-actions',
    edit: (d) => {
      for (let i = 0; i < 50; i++) d.paths[`/things${i}`] = { get: { ...list(d), operationId: `Thing${i}` } };
    },
    path: ['paths'],
  },
  { rule: 'pg-scopes-separate', edit: (d) => (list(d).security = [{ oauth2: ['invoices.read', 'invoices.write'] }]), path: ['paths', '/invoices', 'get', 'security'] },
];

describe('the Pulsegate connector ruleset', () => {
  it(`has ${LINT_RULES.length} rules, each with a bad spec below; the seed example is clean`, async () => {
    expect(BAD.map((b) => b.rule)).toEqual(LINT_RULES.map((r) => r.id));
    const r = await lintSpec(good());
    expect(r).toEqual({ findings: [], counts: { error: 0, warning: 0 }, actions: 2, documentationCompleteness: 1 });
  });

  for (const b of BAD) {
    it(`${b.rule} fires on its bad spec with its JSON path`, async () => {
      const d = good();
      b.edit(d);
      const r = await lintSpec(d);
      const hit = r.findings.filter((f) => f.rule === b.rule);
      expect(hit.map((f) => f.path), JSON.stringify(r.findings)).toContainEqual(b.path);
      expect(hit[0]!.severity).toBe(LINT_RULES.find((x) => x.id === b.rule)!.severity);
    });
  }

  it('writes on read scopes only are flagged too; documentation completeness is actions with an example / actions', async () => {
    const d = good();
    create(d).security = [{ oauth2: ['invoices.read'] }];
    delete list(d).responses['200'].content['application/json'].examples;
    delete list(d).responses['400'].content['application/json'].example;
    delete list(d).responses['429'].content['application/json'].example;
    const r = await lintSpec(d);
    expect(r.findings.find((f) => f.rule === 'pg-scopes-separate')!.message).toBe('CreateInvoice writes on read scopes only (invoices.read)');
    expect(r.documentationCompleteness).toBe(0.5);
  });
});

describe("Spectral's standard oas ruleset, beside the connector ruleset", () => {
  it('reports oas findings with rule, severity and JSON path, and they feed lintWarnings', async () => {
    const d = good();
    delete d.info.contact;
    delete list(d).tags;
    // An example that does not match its (inline) schema, and a 3.1-style type list in a 3.0 document.
    // Examples of schemas behind a $ref are not checked: Spectral resolves no $ref here.
    create(d).requestBody.content['application/json'] = { schema: { type: 'object', properties: { amount: { type: 'number' } } }, example: { amount: 'not a number' } };
    d.components.schemas[Object.keys(d.components.schemas)[0]!].properties.note = { type: ['string', 'null'] };
    const r = await lintSpec(d);
    const brief = r.findings.map((f) => [f.rule, f.severity, f.path.join('.')]);
    expect(brief).toContainEqual(['info-contact', 'warning', 'info']);
    expect(brief).toContainEqual(['operation-tags', 'warning', 'paths./invoices.get']);
    expect(brief).toContainEqual(['oas3-schema', 'error', `components.schemas.${Object.keys(d.components.schemas)[0]}.properties.note.type`]);
    expect(r.findings.some((f) => f.rule === 'oas3-valid-media-example' && f.severity === 'error' && f.path.join('.').startsWith('paths./invoices.post.requestBody'))).toBe(true);
    expect(r.findings.every((f) => f.rule.startsWith('pg-') === false)).toBe(true);
    const { computeSpecFeatures } = await import('../../src/spec/features');
    const f = await computeSpecFeatures(good(), d);
    expect(f.features.lintWarnings).toBe(r.counts.error + r.counts.warning);
    expect(f.features.lintWarnings).toBe(r.findings.length);
  });

  it('turns off only the rules that need the resolver Spectral is not given', async () => {
    const { lintRuleset, OAS_RULES_OFF } = await import('../../src/spec/spectral');
    expect(((await lintRuleset()) as { rules: Record<string, unknown> }).rules).toMatchObject(Object.fromEntries(OAS_RULES_OFF.map((id) => [id, 'off'])));
    const d = good();
    d.components.schemas.Unused = { type: 'object' };
    expect((await lintSpec(d)).findings).toEqual([]);
  });
});

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
  it(`has ${LINT_RULES.length} rules, each with a bad spec below; the seed example is clean`, () => {
    expect(BAD.map((b) => b.rule)).toEqual(LINT_RULES.map((r) => r.id));
    const r = lintSpec(good());
    expect(r).toEqual({ findings: [], counts: { error: 0, warning: 0 }, actions: 2, documentationCompleteness: 1 });
  });

  for (const b of BAD) {
    it(`${b.rule} fires on its bad spec with its JSON path`, () => {
      const d = good();
      b.edit(d);
      const r = lintSpec(d);
      const hit = r.findings.filter((f) => f.rule === b.rule);
      expect(hit.map((f) => f.path), JSON.stringify(r.findings)).toContainEqual(b.path);
      expect(hit[0]!.severity).toBe(LINT_RULES.find((x) => x.id === b.rule)!.severity);
    });
  }

  it('writes on read scopes only are flagged too; documentation completeness is actions with an example / actions', () => {
    const d = good();
    create(d).security = [{ oauth2: ['invoices.read'] }];
    delete list(d).responses['200'].content['application/json'].examples;
    delete list(d).responses['400'].content['application/json'].example;
    delete list(d).responses['429'].content['application/json'].example;
    const r = lintSpec(d);
    expect(r.findings.find((f) => f.rule === 'pg-scopes-separate')!.message).toBe('CreateInvoice writes on read scopes only (invoices.read)');
    expect(r.documentationCompleteness).toBe(0.5);
  });
});

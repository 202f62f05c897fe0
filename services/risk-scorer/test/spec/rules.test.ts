import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffSpecs } from '../../src/spec/diff';
import { RULES, rulesMarkdown } from '../../src/spec/rules';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A small connector: one read action, one write action, OAuth scopes, a server and a token. */
function base(): Doc {
  return {
    openapi: '3.1.0',
    info: { title: 'Rules', version: '1.0.0' },
    servers: [{ url: 'https://api.example.com/v1' }],
    security: [{ oauth2: ['items.read'] }],
    paths: {
      '/items': {
        get: {
          operationId: 'ListItems',
          parameters: [
            { name: 'status', in: 'query', schema: { type: 'string', enum: ['A', 'B'] } },
            { name: 'pageSize', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
            { name: 'continuationToken', in: 'query', schema: { type: 'string' } },
            { name: 'q', in: 'query', schema: { type: 'string', format: 'uuid', maxLength: 50 } },
          ],
          responses: {
            '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/ItemList' } } } },
            '429': { description: 'throttled' },
          },
        },
        post: {
          operationId: 'CreateItem',
          security: [{ oauth2: ['items.write'] }],
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/NewItem' } } } },
          responses: { '201': { description: 'created', content: { 'application/json': { schema: { $ref: '#/components/schemas/Item' } } } } },
        },
      },
    },
    components: {
      securitySchemes: { oauth2: { type: 'oauth2', flows: { clientCredentials: { tokenUrl: 'https://login.example.com/token', scopes: { 'items.read': 'r', 'items.write': 'w' } } } } },
      schemas: {
        ItemList: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Item' } }, continuationToken: { type: 'string' } } },
        Item: { type: 'object', required: ['id', 'kind'], properties: { id: { type: 'string' }, kind: { type: 'string', enum: ['x', 'y'] }, note: { type: 'string' } } },
        NewItem: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 80 }, size: { type: 'integer', minimum: 0 }, tags: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' } } } } } },
      },
    },
  };
}

const list = (d: Doc): Doc => d.paths['/items'].get;
const create = (d: Doc): Doc => d.paths['/items'].post;
const param = (d: Doc, name: string): Doc => list(d).parameters.find((p: Doc) => p.name === name);
const schema = (d: Doc, name: string): Doc => d.components.schemas[name];

/** Each rule with the edit that should trigger it (applied to a copy of base() as the new version) and where. */
const CASES: Array<{ rule: string; edit: (d: Doc) => void; before?: (d: Doc) => void; location: string }> = [
  { rule: 'operation-removed', edit: (d) => delete d.paths['/items'].post, location: '' },
  { rule: 'operation-id-renamed', edit: (d) => (list(d).operationId = 'ListAllItems'), location: '' },
  { rule: 'operation-added', edit: (d) => (d.paths['/items/{id}'] = { get: { operationId: 'GetItem', responses: { '200': { description: 'ok' } } } }), location: '' },
  { rule: 'request-parameter-required-added', edit: (d) => (param(d, 'status').required = true), location: 'query.status' },
  { rule: 'request-parameter-removed', edit: (d) => (list(d).parameters = list(d).parameters.filter((p: Doc) => p.name !== 'q')), location: 'query.q' },
  { rule: 'request-parameter-added', edit: (d) => list(d).parameters.push({ name: 'sort', in: 'query', schema: { type: 'string' } }), location: 'query.sort' },
  { rule: 'request-body-required-added', edit: (d) => (create(d).requestBody.required = true), location: 'body' },
  { rule: 'request-required-property-added', edit: (d) => (schema(d, 'NewItem').properties.tags.items.required = ['key']), location: 'body.tags[].key' },
  { rule: 'request-property-removed', edit: (d) => delete schema(d, 'NewItem').properties.size, location: 'body.size' },
  { rule: 'request-optional-property-added', edit: (d) => (schema(d, 'NewItem').properties.colour = { type: 'string' }), location: 'body.colour' },
  { rule: 'request-type-changed', edit: (d) => (param(d, 'pageSize').schema.type = 'string'), location: 'query.pageSize' },
  { rule: 'request-format-changed', edit: (d) => (param(d, 'q').schema.format = 'email'), location: 'query.q' },
  { rule: 'request-enum-narrowed', edit: (d) => (param(d, 'status').schema.enum = ['A']), location: 'query.status' },
  { rule: 'request-max-length-decreased', edit: (d) => (schema(d, 'NewItem').properties.name.maxLength = 40), location: 'body.name' },
  { rule: 'request-min-increased', edit: (d) => (schema(d, 'NewItem').properties.size.minimum = 1), location: 'body.size' },
  { rule: 'request-max-decreased', edit: (d) => (param(d, 'pageSize').schema.maximum = 50), location: 'query.pageSize' },
  { rule: 'request-media-type-removed', edit: (d) => (create(d).requestBody.content = { 'application/xml': { schema: { type: 'object' } } }), location: 'body application/json' },
  { rule: 'response-required-property-removed', edit: (d) => delete schema(d, 'ItemList').properties.items, location: '200 items' },
  { rule: 'response-optional-property-removed', edit: (d) => delete schema(d, 'Item').properties.note, location: '200 items[].note' },
  { rule: 'response-property-became-optional', edit: (d) => (schema(d, 'Item').required = ['id']), location: '200 items[].kind' },
  { rule: 'response-property-added', edit: (d) => (schema(d, 'Item').properties.dueDate = { type: 'string' }), location: '200 items[].dueDate' },
  { rule: 'response-type-changed', edit: (d) => (schema(d, 'Item').properties.id.type = ['string', 'integer']), location: '200 items[].id' },
  { rule: 'response-enum-widened', edit: (d) => (schema(d, 'Item').properties.kind.enum = ['x', 'y', 'z']), location: '200 items[].kind' },
  { rule: 'response-success-status-removed', edit: (d) => (create(d).responses = { '202': { description: 'accepted' } }), location: '201' },
  { rule: 'response-status-removed', edit: (d) => delete list(d).responses['429'], location: '429' },
  { rule: 'response-media-type-removed', edit: (d) => (list(d).responses['200'].content = { 'text/csv': { schema: { type: 'string' } } }), location: '200 application/json' },
  { rule: 'security-scope-added', edit: (d) => (create(d).security = [{ oauth2: ['items.write', 'items.read'] }]), location: 'security' },
  { rule: 'security-scheme-changed', edit: (d) => (d.components.securitySchemes.oauth2 = { type: 'apiKey', in: 'header', name: 'X-Key' }), location: 'security' },
  { rule: 'security-scope-declared', edit: (d) => (d.components.securitySchemes.oauth2.flows.clientCredentials.scopes['items.admin'] = 'a'), location: 'security' },
  { rule: 'server-url-changed', edit: (d) => (d.servers = [{ url: 'https://api.example.com/v2' }]), location: 'servers' },
  { rule: 'pagination-token-removed', edit: (d) => (param(d, 'continuationToken').name = 'nextPageToken'), location: 'query.continuationToken' },
  { rule: 'operation-deprecated', edit: (d) => (list(d).deprecated = true), location: '' },
  { rule: 'parameter-deprecated', edit: (d) => (param(d, 'q').deprecated = true), location: 'query.q' },
];

describe('the rule catalogue', () => {
  it(`has ${RULES.length} rules with unique ids, each with its own spec pair below`, () => {
    expect(RULES.length).toBe(33);
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
    expect(CASES.map((c) => c.rule).sort()).toEqual(RULES.map((r) => r.id).sort());
  });

  it('RULES.md is the generated table (regenerate with `pulsegate spec rules --format markdown`)', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'RULES.md'), 'utf8');
    expect(doc).toContain(rulesMarkdown());
  });

  it('the base pair has no findings', () => {
    expect(diffSpecs(base(), base()).findings).toEqual([]);
  });

  for (const c of CASES) {
    it(`${c.rule}: fires on its pair with the catalogue severity`, () => {
      const before = base();
      c.before?.(before);
      const after = base();
      c.edit(after);
      const d = diffSpecs(before, after);
      const hit = d.findings.filter((f) => f.rule === c.rule);
      expect(hit.map((f) => f.location), JSON.stringify(d.findings)).toContain(c.location);
      expect(hit[0]!.severity).toBe(RULES.find((r) => r.id === c.rule)!.severity);
      // Overridden per run: the severity follows, 'off' drops it.
      expect(diffSpecs(before, after, { overrides: { [c.rule]: 'info' } }).findings.find((f) => f.rule === c.rule)!.severity).toBe('info');
      expect(diffSpecs(before, after, { overrides: { [c.rule]: 'off' } }).findings.some((f) => f.rule === c.rule)).toBe(false);
    });
  }

  it('an unknown rule in overrides is an error naming it', () => {
    expect(() => diffSpecs(base(), base(), { overrides: { 'no-such-rule': 'off' } })).toThrow(/unknown rule "no-such-rule"/);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeSpecFeatures, SpecError } from '../../src/spec/features';

const fixture = (name: string): string => readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8');
const v100 = fixture('contoso-sales-1.0.0.json');
const v110 = fixture('contoso-sales-1.1.0.yaml');
const v200 = fixture('contoso-sales-2.0.0.json');

function doc(paths: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { openapi: '3.1.0', info: { title: 't', version: '1' }, paths, ...extra };
}

describe('computeSpecFeatures on the seed ListInvoices connector', () => {
  it('1.0.0 -> 2.0.0 finds every breaking change of the MAJOR release', () => {
    const f = computeSpecFeatures(v100, v200);
    expect(f.operations).toEqual({ old: 2, new: 1, added: [], removed: ['GET /invoices/{}'], modified: ['GET /invoices'] });
    expect(f.breakingChanges.map((b) => [b.kind, b.operation, b.location])).toEqual([
      ['operation-removed', 'GET /invoices/{}', ''],
      ['enum-narrowed', 'GET /invoices', 'query.status'],
      ['required-parameter-added', 'GET /invoices', 'query.pageSize'],
      ['response-field-removed', 'GET /invoices', '200 continuationToken'],
    ]);
    expect(f.breakingChanges[1]!.detail).toContain('"Overdue"');
    expect(f.newScopes).toEqual(['invoices.admin']);
    // Old: list (items, items[], items[].id/amount/status, continuationToken) 6 + get (id, amount, status) 3.
    expect(f.responseSchemaSize).toEqual({ old: 9, new: 5 });
    expect(f.features).toEqual({ operationsModifiedShare: 1, newScopesAdded: 1, payloadSizeIncrease: (5 - 9) / 9, breakingChanges: 4 });
  });

  it('1.0.0 -> 1.1.0 (YAML) is additive: $ref changes count as modifications, nothing breaks', () => {
    const f = computeSpecFeatures(v100, v110);
    expect(f.operations.added).toEqual(['POST /invoices']);
    expect(f.operations.removed).toEqual([]);
    // dueDate reaches both GET operations through $ref; the renamed path parameter is not a change.
    expect(f.operations.modified).toEqual(['GET /invoices', 'GET /invoices/{}']);
    expect(f.breakingChanges).toEqual([]);
    expect(f.newScopes).toEqual(['invoices.write']);
    // New: list 7 + get 4 + create 4.
    expect(f.responseSchemaSize).toEqual({ old: 9, new: 15 });
    expect(f.features.payloadSizeIncrease).toBeCloseTo(6 / 9, 12);
    expect(f.features.operationsModifiedShare).toBe(1);
  });

  it('an identical document has no changes; documentation-only edits are not modifications', () => {
    expect(computeSpecFeatures(v100, v100).features).toEqual({ operationsModifiedShare: 0, newScopesAdded: 0, payloadSizeIncrease: 0, breakingChanges: 0 });
    const reworded = JSON.parse(v100) as { paths: Record<string, Record<string, { description?: string; summary?: string }>> };
    reworded.paths['/invoices']!.get!.summary = 'List the invoices';
    reworded.paths['/invoices']!.get!.description = 'Now with words';
    expect(computeSpecFeatures(v100, reworded).operations.modified).toEqual([]);
  });
});

describe('computeSpecFeatures rules', () => {
  const op = (extra: Record<string, unknown>) => ({ responses: { '200': { description: 'ok' } }, ...extra });

  it('counts modified operations over the operations both versions have', () => {
    const before = doc({ '/a': { get: op({}) }, '/b': { get: op({}) }, '/c': { get: op({}) }, '/d': { get: op({}) } });
    const after = doc({ '/a': { get: op({ parameters: [{ name: 'q', in: 'query', schema: { type: 'string' } }] }) }, '/b': { get: op({}) }, '/c': { get: op({}) }, '/e': { get: op({}) } });
    const f = computeSpecFeatures(before, after);
    expect(f.operations.modified).toEqual(['GET /a']);
    expect(f.features.operationsModifiedShare).toBe(1 / 3);
    expect(f.operations.added).toEqual(['GET /e']);
    expect(f.breakingChanges.map((b) => b.kind)).toEqual(['operation-removed']);
  });

  it('reports new required request fields, request enum narrowing and parameter type changes', () => {
    const body = (schema: unknown) => ({ requestBody: { content: { 'application/json': { schema } } } });
    const before = doc({
      '/x': {
        post: op({ ...body({ type: 'object', properties: { a: { type: 'string' }, kind: { type: 'string', enum: ['A', 'B'] } } }), parameters: [{ name: 'n', in: 'query', schema: { type: 'integer' } }] }),
      },
    });
    const after = doc({
      '/x': {
        post: op({ ...body({ type: 'object', required: ['a'], properties: { a: { type: 'string' }, kind: { type: 'string', enum: ['A'] } } }), parameters: [{ name: 'n', in: 'query', schema: { type: 'string' } }] }),
      },
    });
    const kinds = computeSpecFeatures(before, after).breakingChanges.map((b) => `${b.kind} ${b.location}`);
    expect(kinds).toEqual(['parameter-type-changed query.n', 'required-request-field-added body.a', 'enum-narrowed body.kind']);
  });

  it('an enum added to a parameter that had none narrows it; a new required header is breaking', () => {
    const before = doc({ '/x': { get: op({ parameters: [{ name: 's', in: 'query', schema: { type: 'string' } }] }) } });
    const after = doc({ '/x': { get: op({ parameters: [{ name: 's', in: 'query', schema: { type: 'string', enum: ['a'] } }, { name: 'X-Tier', in: 'header', required: true, schema: { type: 'string' } }] }) } });
    const kinds = computeSpecFeatures(before, after).breakingChanges.map((b) => `${b.kind} ${b.location}`);
    expect(kinds).toEqual(['enum-narrowed query.s', 'required-parameter-added header.x-tier']);
  });

  it('survives recursive schemas without looping', () => {
    const node = { type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/components/schemas/Node' } } } };
    const spec = (extra: Record<string, unknown>) =>
      doc({ '/tree': { get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } } } } } } }, { components: { schemas: { Node: { ...node, ...extra } } } });
    const f = computeSpecFeatures(spec({}), spec({ description: 'same' }));
    expect(f.operations.modified).toEqual([]);
    expect(f.responseSchemaSize.old).toBe(3);
  });

  it('names the unreadable input', () => {
    expect(() => computeSpecFeatures('{not json', v100)).toThrow(SpecError);
    expect(() => computeSpecFeatures('{not json', v100)).toThrow(/^oldSpec: not valid JSON or YAML/);
    expect(() => computeSpecFeatures(v100, { swagger: '2.0' })).toThrow(/^newSpec: "openapi" must be a 3.x version/);
    expect(() => computeSpecFeatures(v100, '- a list')).toThrow(/^newSpec: must be an OpenAPI document object/);
    expect(() => computeSpecFeatures(v100, { openapi: '3.0.0', paths: [] })).toThrow(/^newSpec: "paths" must be an object/);
  });

  it('refuses YAML alias bombs', () => {
    const lines = ['openapi: 3.0.0', 'a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 12; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill('*' + String.fromCharCode(97 + i)).join(', ')}]`);
    expect(() => computeSpecFeatures(v100, lines.join('\n'))).toThrow(/^newSpec: not valid JSON or YAML/);
  });
});

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
  // 2.0.0 names no servers: nothing to compare, so no server-url-changed.
  it('1.0.0 -> 2.0.0 finds every breaking change of the MAJOR release, by operationId', async () => {
    const f = await computeSpecFeatures(v100, v200);
    expect(f.actions).toEqual({ old: 2, new: 1, added: [], removed: ['GetInvoice'], renamed: [], modified: ['ListInvoices'] });
    expect(f.findings.filter((x) => x.severity === 'error').map((b) => [b.rule, b.operation, b.location])).toEqual([
      ['operation-removed', 'GetInvoice', ''],
      ['pagination-token-removed', 'ListInvoices', '200 continuationToken'],
      ['request-parameter-required-added', 'ListInvoices', 'query.pageSize'],
      ['request-max-decreased', 'ListInvoices', 'query.pageSize'],
      ['request-enum-narrowed', 'ListInvoices', 'query.status'],
      ['security-scope-added', 'ListInvoices', 'security'],
    ]);
    expect(f.findings.find((x) => x.rule === 'request-enum-narrowed')!.message).toContain('"Overdue"');
    expect(f.findings.find((x) => x.rule === 'response-optional-property-removed')!.location).toBe('200 continuationToken');
    expect(f.newScopes).toEqual(['invoices.admin']);
    // Old: list (items, items[], id/amount/status, continuationToken) 6 + get (id, amount, status) 3.
    expect(f.responseSchemaSize).toEqual({ old: 9, new: 5 });
    expect(f.features).toEqual({ lintWarnings: 8, operationsModifiedShare: 1, newScopesAdded: 1, payloadSizeIncrease: (5 - 9) / 9, breakingChanges: 6 });
    // 2.0.0 misses an example and a 429, and its read action requires invoices.admin (connector
    // ruleset); it has no contact, description, servers, operation description or tags (Spectral's oas ruleset).
    expect(f.lint.findings.map((x) => x.rule)).toEqual(['pg-action-example', 'pg-429-retry-after', 'pg-scopes-separate', 'info-contact', 'info-description', 'oas3-api-servers', 'operation-description', 'operation-tags']);
  });

  it('1.0.0 -> 1.1.0 (YAML) is additive: nothing breaks, the new action and fields are info', async () => {
    const f = await computeSpecFeatures(v100, v110);
    expect(f.actions.added).toEqual(['CreateInvoice']);
    expect(f.actions.removed).toEqual([]);
    expect(f.counts.error).toBe(0);
    expect(new Set(f.findings.map((x) => x.rule))).toEqual(new Set(['operation-added', 'response-property-added', 'security-scope-declared']));
    expect(f.newScopes).toEqual(['invoices.write']);
    expect(f.responseSchemaSize).toEqual({ old: 9, new: 15 });
    expect(f.features.payloadSizeIncrease).toBeCloseTo(6 / 9, 12);
    // dueDate reaches both read actions through the shared Invoice schema.
    expect(f.actions.modified).toEqual(['GetInvoice', 'ListInvoices']);
    expect(f.features.operationsModifiedShare).toBe(1);
  });

  it('an identical document has no changes; documentation-only edits are not modifications', async () => {
    const same = await computeSpecFeatures(v100, v100);
    // 4 connector-ruleset warnings, 6 oas warnings and one oas error: a 3.1-style type list in a 3.0 document.
    expect(same.features).toEqual({ lintWarnings: 11, operationsModifiedShare: 0, newScopesAdded: 0, payloadSizeIncrease: 0, breakingChanges: 0 });
    expect(same.lint.findings.filter((x) => x.severity === 'error')).toEqual([expect.objectContaining({ rule: 'oas3-schema', path: ['components', 'schemas', 'InvoiceList', 'properties', 'continuationToken', 'type'] })]);
    const reworded = JSON.parse(v100) as { paths: Record<string, Record<string, { description?: string; summary?: string }>> };
    reworded.paths['/invoices']!.get!.summary = 'List the invoices';
    reworded.paths['/invoices']!.get!.description = 'Now with words';
    expect((await computeSpecFeatures(v100, reworded)).actions.modified).toEqual([]);
  });

  it('survives recursive schemas without looping', async () => {
    const node = { type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/components/schemas/Node' } } } };
    const spec = (extra: Record<string, unknown>) =>
      doc({ '/tree': { get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } } } } } } }, { components: { schemas: { Node: { ...node, ...extra } } } });
    const f = await computeSpecFeatures(spec({}), spec({ description: 'same' }));
    expect(f.actions.modified).toEqual([]);
    expect(f.responseSchemaSize.old).toBe(3);
  });

  it('names the unreadable input', async () => {
    await expect(computeSpecFeatures('{not json', v100)).rejects.toThrow(SpecError);
    await expect(computeSpecFeatures('{not json', v100)).rejects.toThrow(/^oldSpec: not valid JSON or YAML/);
    await expect(computeSpecFeatures(v100, { swagger: '2.0' })).rejects.toThrow(/^newSpec: "openapi" must be a 3.0 or 3.1 version/);
    await expect(computeSpecFeatures(v100, '- a list')).rejects.toThrow(/^newSpec: must be an OpenAPI document object/);
    await expect(computeSpecFeatures(v100, { openapi: '3.0.0', paths: [] })).rejects.toThrow(/^newSpec: "paths" must be an object/);
  });
});

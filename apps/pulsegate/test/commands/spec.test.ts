import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULES, rulesMarkdown } from '@pulsegate/risk-scorer';
import { runSpecCommand } from '../../src/commands/spec';
import { EXAMPLES } from '../support/risk';

const v120 = join(EXAMPLES, 'contoso-sales-1.2.0.json');
const v130 = join(EXAMPLES, 'contoso-sales-1.3.0.json');
const v200 = join(EXAMPLES, 'contoso-sales-2.0.0.json');

async function spec(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runSpecCommand(args, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

describe('pulsegate spec', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pulsegate-spec-'));
    writeFileSync(join(dir, 'deep.json'), '{"openapi":"3.1.0","x":' + '['.repeat(1000) + ']'.repeat(1000) + '}');
    writeFileSync(join(dir, 'no-ids.yaml'), 'openapi: 3.1.0\ninfo: { title: t, version: 1.0.0 }\npaths:\n  /x:\n    get:\n      responses: { "200": { description: ok } }\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('diff: ContosoSales 1.2.0 -> 2.0.0 in text, JSON and Markdown; exit 1 on errors, 0 when clean', async () => {
    const text = await spec(['diff', v120, v200]);
    expect(text.code).toBe(1);
    expect(text.out.split('\n').slice(0, 4)).toEqual([
      '1.2.0 -> 2.0.0: 3 error(s), 0 warning(s), 2 info',
      '  error   operation-removed  GetInvoice: GET /invoices/{invoiceId} removed',
      '  error   request-parameter-required-added  ListInvoices query.status: optional parameter became required',
      '  error   request-enum-narrowed  ListInvoices query.status: no longer accepted: "Overdue"',
    ]);
    expect(text.out).toContain('info    security-scope-declared  (document) security: new scope invoices.write');
    const json = await spec(['diff', v120, v200, '--format', 'json']);
    expect(JSON.parse(json.out).actions.removed).toEqual(['GetInvoice']);
    const md = await spec(['diff', v120, v200, '--format=markdown']);
    expect(md.out).toContain('| error | `request-enum-narrowed` | ListInvoices | query.status | no longer accepted: "Overdue" |');
    expect((await spec(['diff', v120, v120])).code).toBe(0);
    // Per-run overrides turn the errors into warnings: clean.
    const relaxed = await spec(['diff', v120, v200, '--rule', 'operation-removed=warning', '--rule', 'request-parameter-required-added=off', '--rule', 'request-enum-narrowed=info']);
    expect(relaxed.code).toBe(0);
    expect(relaxed.out).toMatch(/^1\.2\.0 -> 2\.0\.0: 0 error\(s\), 1 warning\(s\), 3 info/);
    expect((await spec(['diff', v120, v130])).code).toBe(1);
  });

  it('lint: clean example exits 0, missing operationIds exit 1, in each format', async () => {
    const ok = await spec(['lint', v200]);
    expect(ok.code).toBe(0);
    expect(ok.out).toBe('0 error(s), 0 warning(s); 2 action(s), documentation completeness 100 %\n');
    const bad = await spec(['lint', join(dir, 'no-ids.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('error   pg-operation-id  paths./x.get: GET /x has no operationId');
    // The connector ruleset: 1 error, 2 warnings; Spectral's oas ruleset: no contact, description,
    // servers, operation description, operationId or tags (6 warnings).
    const json = JSON.parse((await spec(['lint', join(dir, 'no-ids.yaml'), '--format', 'json'])).out) as { counts: unknown; findings: Array<{ rule: string }> };
    expect(json.counts).toEqual({ error: 1, warning: 8 });
    expect(json.findings.map((f) => f.rule)).toEqual(['pg-operation-id', 'pg-action-example', 'pg-429-retry-after', 'info-contact', 'info-description', 'oas3-api-servers', 'operation-description', 'operation-operationId', 'operation-tags']);
    expect((await spec(['lint', join(dir, 'no-ids.yaml'), '--format', 'markdown'])).out).toContain('| error | `pg-operation-id` | `paths./x.get` | GET /x has no operationId |');
  });

  it('exit 2 when it cannot run: hostile or unreadable specs, missing files, bad flags', async () => {
    const deep = await spec(['diff', v120, join(dir, 'deep.json')]);
    expect(deep.code).toBe(2);
    expect(deep.err).toBe(`spec: ${join(dir, 'deep.json')}: document nests deeper than 64 levels\n`);
    expect((await spec(['lint', join(dir, 'deep.json')])).code).toBe(2);
    expect((await spec(['lint', join(dir, 'missing.json')])).err).toMatch(/SPEC .*missing\.json: ENOENT/);
    expect((await spec(['diff', v120])).code).toBe(2);
    expect((await spec(['diff', v120, v200, '--rule', 'nope=off'])).err).toMatch(/--rule: unknown rule "nope"/);
    expect((await spec(['diff', v120, v200, '--rule', 'operation-removed'])).code).toBe(2);
    expect((await spec(['diff', v120, v200, '--format', 'yaml'])).code).toBe(2);
    expect((await spec(['frobnicate'])).code).toBe(2);
    expect((await spec([])).code).toBe(2);
  });

  it('rules prints the catalogue; Markdown is the RULES.md table', async () => {
    expect((await spec(['rules', '--format', 'markdown'])).out).toBe(rulesMarkdown());
    expect(JSON.parse((await spec(['rules', '--format', 'json'])).out).diff).toHaveLength(RULES.length);
  });
});

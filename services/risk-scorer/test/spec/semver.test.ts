import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffSpecs } from '../../src/spec/diff';
import { checkSemver } from '../../src/spec/semver';

const example = (name: string): string => readFileSync(join(__dirname, '..', '..', 'examples', name), 'utf8');
const v120 = example('contoso-sales-1.2.0.json');
const v200 = example('contoso-sales-2.0.0.json');
const v130 = example('contoso-sales-1.3.0.json');

const spec = (version: string, extra: Record<string, unknown> = {}) => ({
  openapi: '3.1.0',
  info: { title: 't', version },
  paths: { '/a': { get: { operationId: 'A', responses: { '200': { description: 'ok' } } } }, ...extra },
});
const added = { '/b': { get: { operationId: 'B', responses: { '200': { description: 'ok' } } } } };

describe('ContosoSales 1.2.0 -> 2.0.0, the seed example end to end', () => {
  it('lists GetInvoice removed, status made required with Overdue gone, the invoices.write scope, and passes semver', () => {
    const d = diffSpecs(v120, v200);
    expect(d.actions.removed).toEqual(['GetInvoice']);
    expect(d.actions.added).toEqual(['CreateInvoice']);
    expect(d.findings.filter((f) => f.severity === 'error').map((f) => `${f.rule} ${f.operation} ${f.location} ${f.message}`)).toEqual([
      'operation-removed GetInvoice  GET /invoices/{invoiceId} removed',
      'request-parameter-required-added ListInvoices query.status optional parameter became required',
      'request-enum-narrowed ListInvoices query.status no longer accepted: "Overdue"',
    ]);
    expect(d.newScopes).toEqual(['invoices.write']);
    const s = checkSemver(d, '1.2.0', '2.0.0');
    expect(s).toMatchObject({ bump: 'major', required: 'major', refused: false, findings: [] });
  });

  it('the same breaking change labelled 1.3.0 is refused with the reason', () => {
    const s = checkSemver(diffSpecs(v120, v130), '1.2.0', '1.3.0');
    expect(s.refused).toBe(true);
    expect(s.findings).toEqual([
      {
        rule: 'semver-breaking-without-major',
        severity: 'error',
        message: '3 breaking change(s) (operation-removed, request-parameter-required-added, request-enum-narrowed) need a MAJOR version; 1.2.0 -> 1.3.0 is a MINOR bump',
      },
    ]);
  });
});

describe('checkSemver', () => {
  it('additive changes: MINOR passes, PATCH is a warning (not refused)', () => {
    expect(checkSemver(diffSpecs(spec('1.0.0'), spec('1.1.0', added)), '1.0.0', '1.1.0')).toMatchObject({ bump: 'minor', required: 'minor', refused: false, findings: [] });
    const patch = checkSemver(diffSpecs(spec('1.0.0'), spec('1.0.1', added)), '1.0.0', '1.0.1');
    expect(patch.refused).toBe(false);
    expect(patch.findings.map((f) => [f.rule, f.severity])).toEqual([['semver-additive-as-patch', 'warning']]);
  });

  it('a PATCH with a breaking change is refused; 0.y.z may break on a MINOR bump', () => {
    expect(checkSemver(diffSpecs(spec('1.0.0', added), spec('1.0.1')), '1.0.0', '1.0.1').refused).toBe(true);
    expect(checkSemver(diffSpecs(spec('0.3.0', added), spec('0.4.0')), '0.3.0', '0.4.0').refused).toBe(false);
    expect(checkSemver(diffSpecs(spec('0.3.0', added), spec('0.3.1')), '0.3.0', '0.3.1').refused).toBe(true);
  });

  it("refuses a spec whose info.version is not the version asked about, a version that does not go up, and non-semver", () => {
    const s = checkSemver(diffSpecs(spec('1.0.0'), spec('1.1.0')), '1.0.0', '1.2.0');
    expect(s.findings.map((f) => f.message)).toEqual(['new spec info.version is "1.1.0", not 1.2.0']);
    expect(s.refused).toBe(true);
    expect(checkSemver(diffSpecs(spec('1.0.0'), spec('1.0.0')), '1.0.0', '1.0.0').findings.map((f) => f.rule)).toEqual(['semver-not-increased']);
    expect(checkSemver(diffSpecs(spec('x'), spec('1.0.0')), 'x', '1.0.0').bump).toBe('invalid');
  });
});

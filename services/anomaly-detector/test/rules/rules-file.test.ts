import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseRulesText } from '../../src/rules/rules-file';
import { RuleBook } from '../../src/rules/rule-book';
import { BUILTIN_RULES } from '../../src/rules/defaults';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

describe('rules file', () => {
  it('built-in defaults are the programme targets', () => {
    const book = new RuleBook();
    const rules = new Map(book.resolveAll({ tenant: 't', connector: 'c', action: 'a', kind: 'read' }).map((r) => [r.name, r]));
    expect(rules.get('SuccessRateLow')).toMatchObject({ op: '<', threshold: { read: 0.99, write: 0.99 }, window: '5m', minCalls: 50 });
    expect(rules.get('LatencyP95High')).toMatchObject({ op: '>', threshold: { read: 750, write: 1500 }, window: '5m' });
    expect(rules.get('ThrottleRateHigh')).toMatchObject({ op: '>', threshold: { read: 0.01, write: 0.01 }, window: '1h' });
    expect(rules.get('LatestMinorAdoptionLow')).toMatchObject({ op: '<', threshold: { read: 0.8, write: 0.8 }, minAgeMs: 30 * 86_400_000 });
    expect(rules.get('DeprecatedVersionUse')).toMatchObject({ op: '>', threshold: { read: 0.05, write: 0.05 }, minAgeMs: 30 * 86_400_000 });
    expect(rules.get('ErrorMappingCoverageLow')).toMatchObject({ op: '<', threshold: { read: 1, write: 1 } });
    expect(rules.get('VersionPastSunset')).toMatchObject({ type: 'threshold', subject: 'adoption', metric: 'callsPastSunset', op: '>', threshold: { read: 0, write: 0 }, window: '5m', minCalls: 1, forMs: 0, keepFiringForMs: 15 * 60_000 });
    expect(rules.get('VersionReadyToSunset')).toMatchObject({ type: 'notice', subject: 'adoption', metric: 'deprecatedVersionShare', op: '<', threshold: { read: 0.05, write: 0.05 }, window: '30d', minCalls: 100, minAgeMs: 0 });
    expect(BUILTIN_RULES.filter((r) => r.type === 'anomaly').map((r) => r.metric).sort()).toEqual(['errorRate', 'p95', 'throttleRate']);
  });

  it('parses a valid YAML file and applies overrides from least to most specific', () => {
    const r = parseRulesText(fixture('rules.yaml'));
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.config.receivers).toEqual([{ name: 'ops', url: 'https://hooks.example.com/alerts', tenants: ['acme'] }]);
    expect(r.config.groupBy).toEqual(['alertname', 'connector']);
    expect(r.config.repeatIntervalMs).toBe(2 * 3_600_000);
    const book = new RuleBook(r.config.overrides);
    const at = (scope: Record<string, string>, name: string) => book.resolveAll(scope).find((x) => x.name === name)!;
    // Tenant-wide override, then the connector-level one, then the action-level one.
    expect(at({ tenant: 'acme', connector: 'other' }, 'SuccessRateLow').threshold).toEqual({ read: 0.995, write: 0.995 });
    expect(at({ tenant: 'acme', connector: 'crm' }, 'SuccessRateLow').threshold).toEqual({ read: 0.98, write: 0.98 });
    expect(at({ tenant: 'acme', connector: 'crm', action: 'bulkExport' }, 'SuccessRateLow').disabled).toBe(true);
    expect(at({ tenant: 'acme', connector: 'crm', action: 'bulkExport' }, 'SuccessRateLow').threshold).toEqual({ read: 0.98, write: 0.98 });
    expect(at({ tenant: 'globex', connector: 'crm' }, 'SuccessRateLow').threshold).toEqual({ read: 0.99, write: 0.99 });
    expect(at({ tenant: 'acme' }, 'LatencyP95High')).toMatchObject({ threshold: { read: 500, write: 1200 }, forMs: 60_000, keepFiringForMs: 600_000 });
    expect(at({ tenant: 'acme' }, 'LatencyP95Anomaly').sensitivity).toBe(6);
  });

  it('reads JSON with the same schema and line numbers', () => {
    const ok = parseRulesText('{"rules": [{"rule": "ThrottleRateHigh", "threshold": 0.02}]}');
    expect(ok.ok).toBe(true);
    const bad = parseRulesText('{\n  "rules": [\n    {"rule": "ThrottleRateHigh",\n     "threshold": "high"}\n  ]\n}');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems[0]).toMatchObject({ line: 4, path: 'rules.0.threshold' });
  });

  it.each([
    ['unknown rule', 'rules:\n  - rule: Nope\n', 2, 'rules.0.rule', /must be one of/],
    ['unknown key', 'rules:\n  - rule: SuccessRateLow\n    treshold: 0.9\n', 3, 'rules.0.treshold', /unknown key "treshold"/],
    ['bad duration', 'rules:\n  - rule: SuccessRateLow\n    for: 5 minutes\n', 3, 'rules.0.for', /duration/],
    ['negative threshold', 'rules:\n  - rule: SuccessRateLow\n    threshold: -1\n', 3, 'rules.0.threshold', /./],
    ['sensitivity on a threshold rule', 'rules:\n  - rule: SuccessRateLow\n    sensitivity: 3\n', 3, 'rules.0.sensitivity', /does not apply/],
    ['threshold on an anomaly rule', 'rules:\n\n  - rule: LatencyP95Anomaly\n    threshold: 3\n', 4, 'rules.0.threshold', /does not apply/],
    ['for on a notice', 'rules:\n  - rule: VersionReadyToSunset\n    threshold: 0.02\n    for: 5m\n', 4, 'rules.0.for', /does not apply to notice rule VersionReadyToSunset/],
    ['non-http receiver', 'receivers:\n  - name: x\n    url: ftp://example.com\n', 3, 'receivers.0.url', /http/],
    ['bad kind in match', 'rules:\n  - rule: SuccessRateLow\n    match:\n      kind: delete\n', 4, 'rules.0.match.kind', /./],
    ['duplicate receiver', 'receivers:\n  - name: a\n    url: http://x\n  - name: a\n    url: http://y\n', 4, 'receivers.1.name', /duplicate/],
    ['YAML syntax', 'rules:\n\t- rule: SuccessRateLow\n', 2, '(syntax)', /Tabs/],
    ['duplicate key', 'rules: []\nrules: []\n', 2, '(syntax)', /./],
  ])('%s: the error names its line', (_name, text, line, path, message) => {
    const r = parseRulesText(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const p = r.problems[0]!;
    expect(p.line).toBe(line);
    expect(p.path).toBe(path);
    expect(p.message).toMatch(message);
  });

  it('refuses an oversized file and a billion-laughs alias bomb without hanging', () => {
    expect(parseRulesText('#'.repeat(300 * 1024)).ok).toBe(false);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]', 'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]'].join('\n');
    const r = parseRulesText(bomb);
    expect(r.ok).toBe(false);
  });

  it('an empty file means built-in defaults only', () => {
    const r = parseRulesText('');
    expect(r.ok && r.config.overrides.length === 0 && r.config.receivers.length === 0).toBe(true);
  });
});

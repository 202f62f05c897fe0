import { describe, expect, it } from 'vitest';
import { parseRulesText } from '../../src/rules/rules-file';
import { DEFAULT_BURN_ALERTS } from '../../src/slo/objectives';

describe('SLO settings in the rules file', () => {
  it('defaults to the workbook burn-rate sets and no SLO overrides', () => {
    const r = parseRulesText('');
    if (!r.ok) throw new Error('empty file must be valid');
    expect(r.config.slos).toEqual([]);
    expect(r.config.burnAlerts).toEqual(DEFAULT_BURN_ALERTS);
  });

  it('parses overrides and burn-rate sets, keeping each entry line', () => {
    const text = [
      'slos:',
      '  - slo: availability',
      '    match: { connector: crm }',
      '    objective: 0.995',
      '    window: 28d',
      '  - slo: latency',
      '    threshold: { read: 500, write: 1000 }',
      'burn_alerts:',
      '  - name: page',
      '    severity: critical',
      '    min_calls: 20',
      '    windows: [{ long: 1h, short: 5m, factor: 14.4 }]',
    ].join('\n');
    const r = parseRulesText(text);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.config.slos).toEqual([
      { slo: 'availability', match: { connector: 'crm' }, set: { objective: 0.995, windowMs: 28 * 86_400_000 }, line: 2 },
      { slo: 'latency', match: {}, set: { thresholdMs: { read: 500, write: 1000 } }, line: 6 },
    ]);
    expect(r.config.burnAlerts).toEqual([{ name: 'page', severity: 'critical', windows: [{ longMs: 3_600_000, shortMs: 300_000, factor: 14.4 }], minCalls: 20, minBadEvents: 3 }]);
  });

  it('names the line of every mistake', () => {
    const text = [
      'slos:',
      '  - slo: availability',
      '    objective: 1',
      '  - slo: throttling',
      '    threshold: 750',
      '  - slo: latency',
      '    threshold: 700',
      '    window: 7m',
      'burn_alerts:',
      '  - name: page',
      '    severity: critical',
      '    windows: [{ long: 5m, short: 1h, factor: 2 }]',
    ].join('\n');
    const r = parseRulesText(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const at = r.problems.map((p) => `${p.line} ${p.path}`);
    expect(at).toContain('3 slos.0.objective');
    expect(at).toContain('7 slos.2.threshold');
    expect(at).toContain('8 slos.2.window');
    expect(r.problems.find((p) => p.line === 7)!.message).toMatch(/one of 100, 250, 500, 750/);
    // Cross checks run once the shapes are valid.
    const cross = parseRulesText(['slos:', '  - slo: throttling', '    threshold: 750', 'burn_alerts:', '  - name: page', '    severity: critical', '    windows: [{ long: 5m, short: 1h, factor: 2 }]'].join('\n'));
    expect(cross.ok).toBe(false);
    if (cross.ok) return;
    expect(cross.problems.map((p) => `${p.line} ${p.message}`)).toEqual(['3 threshold applies to the latency SLO only, not throttling', '7 short window must be shorter than the long window']);
  });
});

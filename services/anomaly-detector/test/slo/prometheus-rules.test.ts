import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { emptyRulesConfig, parseRulesText } from '../../src/rules/rules-file';
import { prometheusRules } from '../../src/slo/prometheus-rules';

const SHIPPED = new URL('../../../../deploy/prometheus/pulsegate-rules.yml', import.meta.url).pathname;

/** Runs `promtool check rules` on the text; returns its output (throws with it on failure). */
function promtoolCheck(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pulsegate-promrules-'));
  try {
    const file = join(dir, 'rules.yml');
    writeFileSync(file, text);
    try {
      return execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`promtool check rules failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('generated Prometheus rules', () => {
  it('the shipped deploy/prometheus/pulsegate-rules.yml is the output for the defaults and passes promtool', () => {
    const text = prometheusRules(emptyRulesConfig());
    expect(readFileSync(SHIPPED, 'utf8')).toBe(text);
    expect(promtoolCheck(text)).toMatch(/SUCCESS: 5 rules found/);
    const doc = parse(text) as { groups: Array<{ name: string; rules: Array<{ alert: string; expr: string; labels: Record<string, string> }> }> };
    const page = doc.groups[0]!.rules[0]!;
    expect(page.labels).toEqual({ burn: 'page', severity: 'critical' });
    expect(page.expr).toContain('pulsegate_slo_burn_rate{window="1h"} >= 14.4');
    expect(page.expr).toContain('pulsegate_slo_burn_rate{window="30m"} >= 6');
  });

  it('follows the rules file: custom burn sets and tenant-wide thresholds', () => {
    const r = parseRulesText(
      ['rules:', '  - rule: SuccessRateLow', '    threshold: 0.95', '  - rule: LatencyP95High', '    disabled: true', 'burn_alerts:', '  - name: fast', '    severity: critical', '    windows: [{ long: 2h, short: 10m, factor: 10 }]'].join('\n'),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const text = prometheusRules(r.config);
    expect(promtoolCheck(text)).toMatch(/SUCCESS: 3 rules found/);
    expect(text).toContain('pulsegate_slo_burn_rate{window="2h"} >= 10');
    expect(text).toContain('(pulsegate_connector_success_rate{kind="read"} < 0.95)');
    expect(text).not.toContain('LatencyP95High');
  });
});

import { describe, expect, it } from 'vitest';
import { Counter, createMetricsRegistry, parsePrometheusText, registerReadout, renderMetrics, sampleValue, samplesOf } from '../src/index';

describe('metrics registry', () => {
  it('reads existing totals at scrape time and renders parseable text', async () => {
    const totals = { received: 0, rejected: {} as Record<string, number> };
    const registry = createMetricsRegistry();
    registerReadout(registry, { name: 'x_received_total', help: 'received', type: 'counter', read: () => [{ value: totals.received }] });
    registerReadout(registry, { name: 'x_rejected_total', help: 'rejected', type: 'counter', labelNames: ['reason'], read: () => samplesOf(totals.rejected, 'reason') });
    totals.received = 7;
    totals.rejected['bad "quote"\nnewline'] = 2;
    totals.rejected.empty = 1;
    const samples = parsePrometheusText(await renderMetrics(registry));
    expect(sampleValue(samples, 'x_received_total')).toBe(7);
    expect(sampleValue(samples, 'x_rejected_total', { reason: 'bad "quote"\nnewline' })).toBe(2);
    expect(sampleValue(samples, 'x_rejected_total', { reason: 'empty' })).toBe(1);
    // Process metrics are present once, from the shared process registry.
    expect(samples.filter((s) => s.name === 'pulsegate_process_cpu_user_seconds_total')).toHaveLength(1);
  });

  it('keeps service instances apart (no global registry)', async () => {
    const a = createMetricsRegistry();
    const b = createMetricsRegistry();
    const ca = new Counter({ name: 'same_name_total', help: 'h', registers: [a] });
    const cb = new Counter({ name: 'same_name_total', help: 'h', registers: [b] });
    ca.inc(3);
    cb.inc(5);
    expect(sampleValue(parsePrometheusText(await a.metrics()), 'same_name_total')).toBe(3);
    expect(sampleValue(parsePrometheusText(await b.metrics()), 'same_name_total')).toBe(5);
  });

  it('rejects labels the metric did not declare and text that is not the format', async () => {
    const registry = createMetricsRegistry();
    registerReadout(registry, { name: 'y', help: 'h', type: 'gauge', read: () => [{ labels: { tenant: 't' }, value: 1 }] });
    await expect(registry.metrics()).rejects.toThrow(/undeclared label tenant/);
    expect(() => parsePrometheusText('ok 1\nnot a sample line\n')).toThrow(/line 2/);
    expect(() => parsePrometheusText('m{a="1} 1\n')).toThrow();
  });
});

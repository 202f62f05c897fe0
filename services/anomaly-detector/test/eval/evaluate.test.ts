import { describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/eval/dataset';
import { evaluate } from '../../src/eval/evaluate';

describe('statistical anomaly evaluation (fixed seed)', () => {
  it('reaches precision and recall >= 0.9 with at most one false alert per series-week', () => {
    const dataset = generateDataset({ seed: 42 });
    // The data set really contains each kind of anomaly on each metric.
    expect(new Set(dataset.anomalies.map((a) => a.kind))).toEqual(new Set(['spike', 'level_shift', 'drift']));
    expect(new Set(dataset.anomalies.map((a) => a.metric))).toEqual(new Set(['p95', 'errorRate', 'throttleRate']));
    const { report } = evaluate(dataset);
    expect(report.anomalies).toBe(72);
    expect(report.recall).toBeGreaterThanOrEqual(0.9);
    expect(report.precision).toBeGreaterThanOrEqual(0.9);
    expect(report.falseAlertsPerSeriesWeek).toBeLessThanOrEqual(1);
  });

  it('fires nothing on normal traffic alone, and nothing during warm-up', () => {
    const dataset = generateDataset({ seed: 7, series: 4, days: 10, anomaliesPerSeries: 0 });
    const { report, episodes } = evaluate(dataset);
    expect(report.falseAlertsPerSeriesWeek).toBeLessThanOrEqual(1);
    expect(episodes.every((e) => e.firedBucket - dataset.series[0]!.firstBucket >= 36)).toBe(true);
  });
});

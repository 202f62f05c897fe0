import { describe, expect, it } from 'vitest';
import { DAY_BUCKETS } from '../../src/stats/baseline';
import { generateDataset } from '../../src/eval/dataset';
import { evaluate } from '../../src/eval/evaluate';

describe('statistical anomaly evaluation (business-hours data set, fixed seed)', () => {
  it('meets the targets per volume class on seed 7', () => {
    const dataset = generateDataset({ seed: 7 });
    // The data set has what the targets are about: every kind and metric, a third low-volume series.
    expect(new Set(dataset.anomalies.map((a) => a.kind))).toEqual(new Set(['spike', 'incident', 'drift', 'release']));
    expect(new Set(dataset.anomalies.map((a) => a.metric))).toEqual(new Set(['p95', 'errorRate', 'throttleRate']));
    expect(dataset.series.filter((s) => s.volumeClass === 'low').length).toBeGreaterThanOrEqual(dataset.series.length / 3);
    const { report } = evaluate(dataset);
    const { high, low } = report.byClass;
    expect(high.total).toBeGreaterThanOrEqual(15);
    expect(high.recall).toBeGreaterThanOrEqual(0.9);
    expect(high.precision).toBeGreaterThanOrEqual(0.9);
    expect(low.clear).toBeGreaterThanOrEqual(10);
    expect(low.clearRecall).toBeGreaterThanOrEqual(0.7);
    expect(report.overall.falseAlertsPerSeriesWeek).toBeLessThanOrEqual(1);
    // Releases fire once and then resolve once the baseline has adapted.
    expect(report.releases.detected).toBeGreaterThan(0);
    expect(report.releases.resolved).toBe(report.releases.detected);
  }, 600_000);

  it('fires nothing during warm-up and at most one false alert per series-week on normal traffic', () => {
    const dataset = generateDataset({ seed: 11, series: 6, days: 14, anomaliesPerSeries: 0 });
    const { report, episodes } = evaluate(dataset);
    expect(report.overall.falseAlertsPerSeriesWeek).toBeLessThanOrEqual(1);
    // No verdict before 3 days of history.
    expect(episodes.every((e) => e.firedBucket - dataset.series[0]!.firstBucket >= 3 * DAY_BUCKETS)).toBe(true);
  }, 600_000);
});

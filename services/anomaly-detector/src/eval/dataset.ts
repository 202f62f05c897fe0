import { BUCKET_MS, DAY_BUCKETS } from '../stats/baseline';
import { binomial, gaussian, seededRandom } from '@pulsegate/random';

/** Metrics the statistical rules watch. */
export type EvalMetric = 'p95' | 'errorRate' | 'throttleRate';
export const EVAL_METRICS: readonly EvalMetric[] = ['p95', 'errorRate', 'throttleRate'];
export type AnomalyKind = 'spike' | 'level_shift' | 'drift';

/** One injected anomaly: buckets [startBucket, endBucket) of one metric of one series are affected. */
export interface InjectedAnomaly {
  series: number;
  metric: EvalMetric;
  kind: AnomalyKind;
  startBucket: number;
  endBucket: number;
  /** p95: multiplier at full strength; rates: absolute increase of the probability at full strength. */
  magnitude: number;
}

/** One series, one value per 5-minute bucket from `firstBucket` on. */
export interface SeriesData {
  id: number;
  firstBucket: number;
  calls: number[];
  p95: number[];
  errorRate: number[];
  throttleRate: number[];
}

export interface Dataset {
  seed: number;
  days: number;
  series: SeriesData[];
  anomalies: InjectedAnomaly[];
}

/** Shape of the generated data set; defaults in `DATASET_DEFAULTS`. */
export interface DatasetOptions {
  seed: number;
  /** Number of series. Default 12. */
  series?: number;
  /** Days of data per series. Default 21. */
  days?: number;
  /** Anomalies injected per series (spread over day 1 to the last day). Default 6. */
  anomaliesPerSeries?: number;
}

export const DATASET_DEFAULTS = { series: 12, days: 21, anomaliesPerSeries: 6 } as const;

/** Monday 2024-01-01 00:00 UTC, so day-of-week effects fall on fixed days. */
const EPOCH_BUCKET = Date.UTC(2024, 0, 1) / BUCKET_MS;

function uniform(random: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * random();
}

/**
 * Generates the labelled evaluation set. Normal traffic: call volume with a daily cycle (×0.4 at
 * 03:00 to ×1.6 at 15:00 UTC), weekends at 55 %, ±10 % volume noise; P95 follows load (±20 %) with
 * log-normal noise that grows at low volume and 1 % single-bucket benign blips (×1.2–1.6); error and
 * throttle counts are binomial draws (throttling rises at peak hours). Injected anomalies, one
 * metric each, at least 12 h apart:
 * - spike: 20–60 min; P95 ×1.5–4, or a rate +0.03–0.15;
 * - level shift: 2–8 h; P95 ×1.3–2.5, or a rate +0.02–0.10;
 * - slow drift: linear ramp over 2–6 h up to P95 ×1.5–3 or a rate +0.03–0.15, held 1 h, then gone.
 */
export function generateDataset(options: DatasetOptions): Dataset {
  const random = seededRandom(options.seed);
  const seriesCount = options.series ?? DATASET_DEFAULTS.series;
  const days = options.days ?? DATASET_DEFAULTS.days;
  const perSeries = options.anomaliesPerSeries ?? DATASET_DEFAULTS.anomaliesPerSeries;
  const total = days * DAY_BUCKETS;
  const series: SeriesData[] = [];
  const anomalies: InjectedAnomaly[] = [];

  for (let s = 0; s < seriesCount; s++) {
    const c0 = uniform(random, 150, 1500);
    const l0 = uniform(random, 120, 500);
    const e0 = uniform(random, 0.001, 0.02);
    const t0 = uniform(random, 0, 0.006);

    // Anomalies of this series: one per slot of equal length, placed inside its slot with 12 h spare.
    const mine: InjectedAnomaly[] = [];
    const slot = Math.floor((total - DAY_BUCKETS) / perSeries);
    for (let k = 0; k < perSeries; k++) {
      const kind = (['spike', 'level_shift', 'drift'] as const)[Math.floor(random() * 3)]!;
      const metric = EVAL_METRICS[Math.floor(random() * 3)]!;
      let length: number;
      let magnitude: number;
      const isP95 = metric === 'p95';
      if (kind === 'spike') {
        length = Math.round(uniform(random, 4, 12));
        magnitude = isP95 ? uniform(random, 1.5, 4) : uniform(random, 0.03, 0.15);
      } else if (kind === 'level_shift') {
        length = Math.round(uniform(random, 24, 96));
        magnitude = isP95 ? uniform(random, 1.3, 2.5) : uniform(random, 0.02, 0.1);
      } else {
        length = Math.round(uniform(random, 24, 72)) + 12;
        magnitude = isP95 ? uniform(random, 1.5, 3) : uniform(random, 0.03, 0.15);
      }
      const spare = Math.max(1, slot - length - DAY_BUCKETS / 2);
      const start = DAY_BUCKETS + k * slot + Math.floor(random() * spare);
      mine.push({ series: s, metric, kind, startBucket: EPOCH_BUCKET + start, endBucket: EPOCH_BUCKET + start + length, magnitude });
    }
    anomalies.push(...mine);

    const data: SeriesData = { id: s, firstBucket: EPOCH_BUCKET, calls: [], p95: [], errorRate: [], throttleRate: [] };
    for (let i = 0; i < total; i++) {
      const bucket = EPOCH_BUCKET + i;
      const hour = (i % DAY_BUCKETS) / 12;
      const dow = Math.floor(i / DAY_BUCKETS) % 7;
      const cycle = Math.sin((2 * Math.PI * (hour - 9)) / 24);
      const weekend = dow >= 5 ? 0.55 : 1;
      const calls = Math.max(5, Math.round(c0 * (1 + 0.6 * cycle) * weekend * (1 + 0.1 * gaussian(random))));
      let p95 = l0 * (1 + 0.2 * cycle) * Math.exp((0.04 + 0.4 / Math.sqrt(calls)) * gaussian(random));
      if (random() < 0.01) p95 *= uniform(random, 1.2, 1.6);
      let pe = e0 * (1 + 0.3 * cycle);
      let pt = t0 * (1 + Math.max(0, cycle));
      for (const a of mine) {
        if (bucket < a.startBucket || bucket >= a.endBucket) continue;
        let strength = 1;
        if (a.kind === 'drift') {
          const ramp = a.endBucket - a.startBucket - 12;
          strength = Math.min(1, (bucket - a.startBucket + 1) / ramp);
        }
        if (a.metric === 'p95') p95 *= 1 + (a.magnitude - 1) * strength;
        else if (a.metric === 'errorRate') pe += a.magnitude * strength;
        else pt += a.magnitude * strength;
      }
      const throttled = binomial(random, calls, Math.min(1, pt));
      const errors = binomial(random, calls - throttled, Math.min(1, pe));
      data.calls.push(calls);
      data.p95.push(p95);
      data.errorRate.push(errors / calls);
      data.throttleRate.push(throttled / calls);
    }
    series.push(data);
  }
  return { seed: options.seed, days, series, anomalies };
}

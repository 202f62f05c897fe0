import { BUCKET_MS, DAY_BUCKETS } from '../stats/baseline';
import { binomialUpperTail, normalUpperTail } from '../stats/binomial';
import { binomial, gaussian, seededRandom } from '@pulsegate/random';

/** Metrics the statistical rules watch. */
export type EvalMetric = 'p95' | 'errorRate' | 'throttleRate';
export const EVAL_METRICS: readonly EvalMetric[] = ['p95', 'errorRate', 'throttleRate'];
/** spike 20–60 min; incident 2–8 h; drift: ramp 2–6 h then 1 h held; release: permanent shift. */
export type AnomalyKind = 'spike' | 'incident' | 'drift' | 'release';
export const ANOMALY_KINDS: readonly AnomalyKind[] = ['spike', 'incident', 'drift', 'release'];
/** Peak calls per 5 minutes: high 200–2 000, medium 40–200, low 8–40. */
export type VolumeClass = 'high' | 'medium' | 'low';
export const VOLUME_CLASSES: readonly VolumeClass[] = ['high', 'medium', 'low'];

/** Test level of the "statistically clear over one hour" rule (exact one-sided binomial test). */
export const CLEAR_ALPHA = 1e-4;
/** A release counts as detected when an alert starts within this many buckets of it (24 h). */
export const RELEASE_WINDOW_BUCKETS = DAY_BUCKETS;

/** One injected anomaly: buckets [startBucket, endBucket) of one metric of one series are affected. */
export interface InjectedAnomaly {
  series: number;
  metric: EvalMetric;
  kind: AnomalyKind;
  startBucket: number;
  /** End of the effect; for a release (permanent) the end of its 24 h detection window. */
  endBucket: number;
  /** p95: latency multiplier at full strength; rates: absolute increase of the probability. */
  magnitude: number;
  /** Whether its effect over its clearest hour is statistically clear (see `isClear`). */
  clear: boolean;
}

/** One series, one entry per 5-minute bucket from `firstBucket` on. */
export interface SeriesData {
  id: number;
  volumeClass: VolumeClass;
  firstBucket: number;
  /** Calls per bucket. */
  calls: number[];
  errors: number[];
  throttled: number[];
  /** P95 and median ms of the bucket's calls; null without calls. */
  p95: Array<number | null>;
  p50: Array<number | null>;
  /** Calls and P95 of the trailing hour (this bucket and the 11 before), as the '1h' window reports them. */
  callsHour: number[];
  p95Hour: Array<number | null>;
  p50Hour: Array<number | null>;
}

export interface Dataset {
  seed: number;
  days: number;
  series: SeriesData[];
  anomalies: InjectedAnomaly[];
  /** Day indices (0 = first day) that are public holidays: traffic as on a weekend. */
  holidays: number[];
}

/** Shape of the generated data set; defaults in `DATASET_DEFAULTS`. */
export interface DatasetOptions {
  seed: number;
  /** Number of series (classes high, medium, low in turn, so a third are low-volume). Default 12. */
  series?: number;
  /** Days. Default 21. */
  days?: number;
  /** Anomalies injected per series (after the 3-day warm-up). Default 6. */
  anomaliesPerSeries?: number;
}

export const DATASET_DEFAULTS = { series: 12, days: 21, anomaliesPerSeries: 6 } as const;

/** Monday 2024-01-01 00:00 UTC (a holiday), so day-of-week effects fall on fixed days. */
const EPOCH_BUCKET = Date.UTC(2024, 0, 1) / BUCKET_MS;
/** Days before the first anomaly: the rules need 3 days of history, and day 0 is a holiday. */
const WARMUP_DAYS = 4;
/** Shape σ of the per-call latency log-normal. */
const LATENCY_SIGMA = 0.5;
const Z95 = 1.6448536269514722;

function uniform(random: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * random();
}

function logUniform(random: () => number, lo: number, hi: number): number {
  return Math.exp(uniform(random, Math.log(lo), Math.log(hi)));
}

function poisson(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean < 30) {
    const limit = Math.exp(-mean);
    let k = 0;
    for (let prod = random(); prod > limit; prod *= random()) k++;
    return k;
  }
  return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(random)));
}

/** Nearest-rank q-quantile of the first `len` values (reorders them; quickselect, O(len)). */
function quantileOf(values: Float64Array, len: number, q: number): number | null {
  if (len === 0) return null;
  const k = Math.ceil(q * len) - 1;
  let lo = 0;
  let hi = len - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return values[k]!;
}

/** Business-hours profile at local hour h (fraction of peak) on a working day. */
function workdayProfile(h: number, night: number): number {
  if (h >= 7 && h < 8) return 0.3;
  if (h >= 8 && h < 9) return 0.7;
  if (h >= 9 && h < 12) return 1;
  if (h >= 12 && h < 13) return 0.75;
  if (h >= 13 && h < 17) return 1;
  if (h >= 17 && h < 18) return 0.6;
  if (h >= 18 && h < 20) return 0.25;
  return night;
}

/** Expected traffic of one series in one bucket, before incidents. */
interface Expected {
  regular: number;
  batch: number;
  latencyMedian: number;
  batchLatencyMedian: number;
  pe: number;
  pt: number;
  batchPt: number;
}

/**
 * "Statistically clear over one hour": over the anomaly's clearest hour (its whole span when
 * shorter; a release: within its first 3 h), with the expected calls n, the exact one-sided binomial test at CLEAR_ALPHA rejects the
 * baseline for the expected number of affected calls. Rates: bad calls vs the baseline probability.
 * P95: calls slower than the baseline P95 (probability 0.05 under the baseline) vs the probability
 * the incident gives them (log-normal calls, σ = 0.5).
 */
export function isClear(hours: Array<{ n: number; p0: number; p1: number }>): boolean {
  return hours.some(({ n, p0, p1 }) => n >= 1 && binomialUpperTail(Math.round(n * p1), Math.round(n), p0) < CLEAR_ALPHA);
}

/**
 * Generates the labelled evaluation set: connectors used in business hours.
 * - Volume classes in turn high / medium / low (peak 200–2 000, 40–200, 8–40 calls per 5 min), so
 *   at least a third of the series are low-volume; calls are Poisson draws.
 * - Business-hours steps in the series' own time zone (07–20 h local, lunch dip), 4–12 % of peak at
 *   night, weekends and holidays at 1–4 % of peak (near zero), one quiet working day per series at
 *   10–40 %, ±10 % day-to-day level.
 * - Every other series runs a nightly batch job (02:00 local ± 10 min, 40–70 min) with 10× the
 *   night volume, calls 1.8–2.5× slower and 1–4 % throttled.
 * - Per-call latency log-normal (σ 0.5, median 60–400 ms, +10 % at peak load, ±3 % per day); the
 *   bucket P95 is the nearest-rank P95 of the bucket's own calls (very noisy at low volume), the
 *   hour P95 that of the trailing hour's calls (as the aggregator's merged sketch gives it).
 * - Error probability 0.2–2 % (±15 % per hour), throttling 0–0.4 % plus the batch's.
 * - Anomalies (one metric each, after a 4-day warm-up, starting in business hours of a working
 *   day): spikes 20–60 min, incidents 2–8 h, drifts (ramp 2–6 h, held 1 h), releases (permanent;
 *   at most one per series). Magnitude log-uniform: rates +0.01–0.12 (releases +0.01–0.05) absolute,
 *   P95 ×1.25–3 (releases ×1.25–1.8).
 */
export function generateDataset(options: DatasetOptions): Dataset {
  const random = seededRandom(options.seed);
  const seriesCount = options.series ?? DATASET_DEFAULTS.series;
  const days = options.days ?? DATASET_DEFAULTS.days;
  const perSeries = options.anomaliesPerSeries ?? DATASET_DEFAULTS.anomaliesPerSeries;
  const total = days * DAY_BUCKETS;
  const holidays = [0];
  if (days > 10) {
    // One more public holiday on a working day of the second or third week (same for every series).
    const candidates: number[] = [];
    for (let d = 8; d < Math.min(days - 1, 19); d++) if (d % 7 < 5) candidates.push(d);
    holidays.push(candidates[Math.floor(random() * candidates.length)]!);
  }
  const series: SeriesData[] = [];
  const anomalies: InjectedAnomaly[] = [];

  for (let s = 0; s < seriesCount; s++) {
    const volumeClass = VOLUME_CLASSES[s % 3]!;
    const peak = volumeClass === 'high' ? logUniform(random, 200, 2000) : volumeClass === 'medium' ? logUniform(random, 40, 200) : logUniform(random, 8, 40);
    const offset = [0, 1, -5, 8, -8, 5.5][Math.floor(random() * 6)]!;
    const night = uniform(random, 0.04, 0.12);
    const weekend = uniform(random, 0.01, 0.04);
    const hasBatch = s % 2 === 0;
    const batchSlow = uniform(random, 1.8, 2.5);
    const batchThrottle = uniform(random, 0.01, 0.04);
    const l0 = uniform(random, 60, 400);
    const e0 = logUniform(random, 0.002, 0.02);
    const t0 = uniform(random, 0, 0.004);
    const dayLevel = Array.from({ length: days }, () => Math.exp(0.1 * gaussian(random)));
    const dayLatency = Array.from({ length: days }, () => Math.exp(0.03 * gaussian(random)));
    const quietDay = WARMUP_DAYS + Math.floor(random() * (days - WARMUP_DAYS));
    const quietLevel = uniform(random, 0.1, 0.4);
    const batchStart = Array.from({ length: days + 1 }, () => uniform(random, -10, 10));
    const batchLength = Array.from({ length: days + 1 }, () => uniform(random, 40, 70));

    const localOf = (i: number): { day: number; hour: number } => {
      const t = i / 12 + offset; // hours since epoch, local
      const day = Math.floor(t / 24);
      return { day, hour: t - day * 24 };
    };
    const workday = (day: number): boolean => day >= 0 && ((day % 7) + 7) % 7 < 5 && !holidays.includes(day);

    const expected: Expected[] = [];
    for (let i = 0; i < total; i++) {
      const { day, hour } = localOf(i);
      const level = dayLevel[Math.min(days - 1, Math.max(0, day))]!;
      let profile = workday(day) ? workdayProfile(hour, night) : weekend;
      if (day === quietDay && workday(day)) profile *= quietLevel;
      const regular = peak * profile * level;
      const minute = hour * 60;
      const dayIdx = Math.min(days, Math.max(0, day));
      const bStart = 120 + batchStart[dayIdx]!;
      const inBatch = hasBatch && minute >= bStart && minute < bStart + batchLength[dayIdx]!;
      const batch = inBatch ? 10 * night * peak * level : 0;
      const load = regular / peak;
      const latencyMedian = l0 * (1 + 0.1 * load) * dayLatency[Math.min(days - 1, Math.max(0, day))]!;
      expected.push({ regular, batch, latencyMedian, batchLatencyMedian: latencyMedian * batchSlow, pe: e0, pt: t0, batchPt: t0 + batchThrottle });
    }

    // Anomalies: one per slot, starting in business hours (09–16 h local) of a working day.
    const mine: InjectedAnomaly[] = [];
    const slot = Math.floor((total - WARMUP_DAYS * DAY_BUCKETS - DAY_BUCKETS / 2) / Math.max(1, perSeries));
    let released = false;
    let earliest = 0;
    for (let k = 0; k < perSeries; k++) {
      let kind: AnomalyKind = (['spike', 'incident', 'drift', 'release'] as const)[Math.floor(random() * 4)]!;
      if (kind === 'release' && released) kind = 'incident';
      const metric = EVAL_METRICS[Math.floor(random() * 3)]!;
      const isP95 = metric === 'p95';
      let length: number;
      let magnitude: number;
      if (kind === 'spike') length = Math.round(uniform(random, 4, 12));
      else if (kind === 'incident') length = Math.round(uniform(random, 24, 96));
      else if (kind === 'drift') length = Math.round(uniform(random, 24, 72)) + 12;
      else length = RELEASE_WINDOW_BUCKETS;
      if (kind === 'release') magnitude = isP95 ? logUniform(random, 1.25, 1.8) : logUniform(random, 0.01, 0.05);
      else magnitude = isP95 ? logUniform(random, 1.25, 3) : logUniform(random, 0.01, 0.12);
      // Not before the previous anomaly's end (a release: its 24 h window) plus 12 h.
      const from = Math.max(WARMUP_DAYS * DAY_BUCKETS + k * slot, earliest);
      const to = from + slot - Math.min(length, 8 * 12) - DAY_BUCKETS / 2;
      const eligible: number[] = [];
      for (let i = from; i < to; i++) {
        const { day, hour } = localOf(i);
        if (workday(day) && day !== quietDay && hour >= 9 && hour < 16) eligible.push(i);
      }
      if (eligible.length === 0) continue;
      if (kind === 'release') released = true;
      const start = eligible[Math.floor(random() * eligible.length)]!;
      mine.push({ series: s, metric, kind, startBucket: EPOCH_BUCKET + start, endBucket: EPOCH_BUCKET + start + length, magnitude, clear: false });
      earliest = start + length + DAY_BUCKETS / 2;
    }

    /** Strength 0–1 of an anomaly at bucket index i (drift ramps; releases stay forever). */
    const strength = (a: InjectedAnomaly, i: number): number => {
      const b = EPOCH_BUCKET + i;
      if (b < a.startBucket) return 0;
      if (a.kind === 'release') return 1;
      if (b >= a.endBucket) return 0;
      if (a.kind === 'drift') return Math.min(1, (b - a.startBucket + 1) / (a.endBucket - a.startBucket - 12));
      return 1;
    };

    // Ground truth: is the anomaly clear over its clearest hour (expected counts, exact test)?
    for (const a of mine) {
      const first = a.startBucket - EPOCH_BUCKET;
      // A release is judged over its first 3 h: after that the baseline adapts to it by design.
      const span = Math.min(a.kind === 'release' ? 36 : a.endBucket - a.startBucket, total - first);
      const hours: Array<{ n: number; p0: number; p1: number }> = [];
      for (let h0 = 0; h0 < Math.max(1, span - 11); h0++) {
        let n = 0;
        let bad0 = 0;
        let bad1 = 0;
        for (let j = first + h0; j < first + Math.min(span, h0 + 12); j++) {
          const e = expected[j]!;
          const x = strength(a, j);
          const calls = e.regular + e.batch;
          n += calls;
          if (a.metric === 'p95') {
            bad0 += calls * 0.05;
            bad1 += calls * normalUpperTail(Z95 - Math.log(1 + (a.magnitude - 1) * x) / LATENCY_SIGMA);
          } else {
            const base = a.metric === 'errorRate' ? e.pe : (e.regular * e.pt + e.batch * e.batchPt) / Math.max(calls, 1e-9);
            bad0 += calls * base;
            bad1 += calls * Math.min(1, base + a.magnitude * x);
          }
        }
        if (n > 0) hours.push({ n, p0: bad0 / n, p1: bad1 / n });
      }
      a.clear = isClear(hours);
    }
    anomalies.push(...mine);

    const data: SeriesData = { id: s, volumeClass, firstBucket: EPOCH_BUCKET, calls: [], errors: [], throttled: [], p95: [], p50: [], callsHour: [], p95Hour: [], p50Hour: [] };
    // Sampled latencies of the last 12 buckets (ring) for the hour P95.
    const ring: Float64Array[] = [];
    const ringLen: number[] = [];
    let merged = new Float64Array(4096);
    let scratch = new Float64Array(1024);
    for (let i = 0; i < total; i++) {
      const e = expected[i]!;
      let pe = e.pe * Math.exp(0.15 * gaussian(random));
      let pt = e.pt;
      let batchPt = e.batchPt;
      let slow = 1;
      for (const a of mine) {
        const x = strength(a, i);
        if (x === 0) continue;
        if (a.metric === 'p95') slow *= 1 + (a.magnitude - 1) * x;
        else if (a.metric === 'errorRate') pe += a.magnitude * x;
        else {
          pt += a.magnitude * x;
          batchPt += a.magnitude * x;
        }
      }
      const nReg = poisson(random, e.regular);
      const nBatch = poisson(random, e.batch);
      const calls = nReg + nBatch;
      const throttled = binomial(random, nReg, Math.min(1, pt)) + binomial(random, nBatch, Math.min(1, batchPt));
      const errors = binomial(random, calls - throttled, Math.min(1, pe));
      // Every call's latency (the aggregator's sketch sees every call).
      const sReg = nReg;
      const m = calls;
      if (scratch.length < m) scratch = new Float64Array(2 * m);
      for (let j = 0; j < m; j++) {
        const med = (j < sReg ? e.latencyMedian : e.batchLatencyMedian) * slow;
        scratch[j] = med * Math.exp(LATENCY_SIGMA * gaussian(random));
      }
      const own = scratch.slice(0, m);
      ring.push(own);
      ringLen.push(calls);
      if (ring.length > 12) {
        ring.shift();
        ringLen.shift();
      }
      let len = 0;
      const hourCalls = ring.reduce((x, r) => x + r.length, 0);
      if (merged.length < hourCalls) merged = new Float64Array(2 * hourCalls);
      for (const r of ring) {
        merged.set(r, len);
        len += r.length;
      }
      data.calls.push(calls);
      data.errors.push(errors);
      data.throttled.push(throttled);
      const mine5 = own.slice();
      data.p95.push(quantileOf(mine5, m, 0.95));
      data.p50.push(quantileOf(mine5, m, 0.5));
      data.callsHour.push(ringLen.reduce((x, y) => x + y, 0));
      data.p95Hour.push(quantileOf(merged, len, 0.95));
      data.p50Hour.push(quantileOf(merged, len, 0.5));
    }
    series.push(data);
  }
  return { seed: options.seed, days, series, anomalies, holidays };
}

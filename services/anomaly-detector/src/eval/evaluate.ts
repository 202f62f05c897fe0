import { BUILTIN_RULES, type EffectiveRule } from '../rules/defaults';
import { BUCKET_MS, historyBuckets } from '../stats/baseline';
import { assessEvidence, EvidenceHistory, prepareEvidence, type EvidenceNature, type Observation } from '../stats/evidence';
import { step, type AlertRecord } from '../lifecycle/alert';
import type { AnomalyKind, Dataset, EvalMetric, InjectedAnomaly, SeriesData, VolumeClass } from './dataset';
import { ANOMALY_KINDS, EVAL_METRICS, VOLUME_CLASSES } from './dataset';

/** Rule used for each evaluated metric (the built-in anomaly rules unless overridden). */
export type EvalRules = Record<EvalMetric, EffectiveRule>;

export function builtinEvalRules(): EvalRules {
  const by = (metric: EvalMetric): EffectiveRule => BUILTIN_RULES.find((r) => r.type === 'anomaly' && r.metric === metric)!;
  return { p95: by('p95'), errorRate: by('errorRate'), throttleRate: by('throttleRate') };
}

/** One firing episode produced by the detector. */
export interface Episode {
  series: number;
  metric: EvalMetric;
  /** Bucket at which the alert started firing (when it would be notified). */
  firedBucket: number;
  /** Bucket at which it resolved; null when still firing at the end of the data. */
  resolvedBucket: number | null;
}

/** Recall figures of one group of anomalies. */
export interface RecallFigures {
  total: number;
  detected: number;
  recall: number;
  /** Anomalies statistically clear over one hour (dataset `isClear`), and how many were detected. */
  clear: number;
  clearDetected: number;
  clearRecall: number;
  /** Median and 90th percentile minutes from anomaly start to firing, over detected anomalies. */
  medianDelayMinutes: number | null;
  p90DelayMinutes: number | null;
}

/** Figures of one volume class (or of all series). */
export interface ClassFigures extends RecallFigures {
  series: number;
  episodes: number;
  truePositives: number;
  precision: number;
  falseAlerts: number;
  seriesWeeks: number;
  /** False alerts per series-week, a series being one connector action (all three metrics). */
  falseAlertsPerSeriesWeek: number;
}

export interface EvalReport {
  overall: ClassFigures;
  byClass: Record<VolumeClass, ClassFigures>;
  byKind: Record<AnomalyKind, RecallFigures>;
  /** Releases (permanent shifts): detected ones whose alert then resolved, and hours they fired. */
  releases: { detected: number; resolved: number; medianFiringHours: number | null };
}

/** Firing that begins this many buckets after an anomaly ends still counts for it (30 min). */
export const GRACE_BUCKETS = 6;

function natureOf(metric: EvalMetric): EvidenceNature {
  return metric === 'p95' ? 'latency' : 'rate';
}

function observation(s: SeriesData, metric: EvalMetric, i: number): Observation {
  if (metric === 'p95') return { nature: 'latency', calls5m: s.calls[i]!, p95_5m: s.p95[i]!, p50_5m: s.p50[i]!, calls1h: s.callsHour[i]!, p95_1h: s.p95Hour[i]!, p50_1h: s.p50Hour[i]! };
  return { nature: 'rate', calls: s.calls[i]!, bad: metric === 'errorRate' ? s.errors[i]! : s.throttled[i]! };
}

/**
 * Runs the statistical rules over the data set exactly as the service does per 5-minute bucket
 * (prepareEvidence from the stored history, assessEvidence on the bucket's figures, store the
 * bucket's points, lifecycle step with `for` / `keep_firing_for`), and scores the firing episodes
 * against the injected anomalies.
 */
export function evaluate(dataset: Dataset, rules: EvalRules = builtinEvalRules()): { report: EvalReport; episodes: Episode[] } {
  const episodes: Episode[] = [];
  const keep = historyBuckets();
  for (const s of dataset.series) {
    for (const metric of EVAL_METRICS) {
      const rule = rules[metric];
      const nature = natureOf(metric);
      const history = new EvidenceHistory(keep);
      const options = { sensitivity: rule.sensitivity, minDelta: rule.minDelta, minCalls: rule.minCalls, warmupPoints: rule.warmupPoints };
      let record: AlertRecord | null = null;
      let open: Episode | null = null;
      for (let i = 0; i < s.calls.length; i++) {
        const bucket = s.firstBucket + i;
        const prepared = prepareEvidence(nature, history, bucket, options);
        const a = assessEvidence(prepared, observation(s, metric, i), options);
        for (const [field, value] of a.record) history.set(field, bucket, value);
        const { next, change } = step(
          record,
          { at: bucket * BUCKET_MS, breach: a.anomalous, fingerprint: `${s.id}/${metric}`, tenant: 'eval', rule: rule.name, labels: {}, annotations: {}, value: a.value, threshold: a.threshold, window: '5m', generatorURL: '' },
          rule,
        );
        record = next;
        if (change === 'firing') {
          open = { series: s.id, metric, firedBucket: bucket, resolvedBucket: null };
          episodes.push(open);
        } else if (change === 'resolved' && open !== null) {
          open.resolvedBucket = bucket;
          open = null;
        }
      }
    }
  }
  return { report: score(dataset, episodes), episodes };
}

function matchesEpisode(a: InjectedAnomaly, e: Episode): boolean {
  return a.series === e.series && a.metric === e.metric && e.firedBucket >= a.startBucket && e.firedBucket < a.endBucket + GRACE_BUCKETS;
}

function quantile(sorted: number[], q: number): number | null {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function recallOf(items: Array<{ a: InjectedAnomaly; delay: number | null }>): RecallFigures {
  const detected = items.filter((x) => x.delay !== null);
  const clear = items.filter((x) => x.a.clear);
  const clearDetected = clear.filter((x) => x.delay !== null).length;
  const delays = detected.map((x) => x.delay!).sort((a, b) => a - b);
  return {
    total: items.length,
    detected: detected.length,
    recall: items.length === 0 ? 1 : detected.length / items.length,
    clear: clear.length,
    clearDetected,
    clearRecall: clear.length === 0 ? 1 : clearDetected / clear.length,
    medianDelayMinutes: quantile(delays, 0.5),
    p90DelayMinutes: quantile(delays, 0.9),
  };
}

function score(dataset: Dataset, episodes: Episode[]): EvalReport {
  const outcomes = dataset.anomalies.map((a) => {
    const first = episodes.filter((e) => matchesEpisode(a, e)).sort((x, y) => x.firedBucket - y.firedBucket)[0];
    return { a, first, delay: first === undefined ? null : ((first.firedBucket - a.startBucket) * BUCKET_MS) / 60_000 };
  });
  const classOf = new Map(dataset.series.map((s) => [s.id, s.volumeClass]));
  const figures = (keepSeries: (id: number) => boolean): ClassFigures => {
    const mine = episodes.filter((e) => keepSeries(e.series));
    const truePositives = mine.filter((e) => dataset.anomalies.some((a) => matchesEpisode(a, e))).length;
    const seriesCount = dataset.series.filter((s) => keepSeries(s.id)).length;
    const seriesWeeks = (seriesCount * dataset.days) / 7;
    const falseAlerts = mine.length - truePositives;
    return {
      ...recallOf(outcomes.filter((o) => keepSeries(o.a.series))),
      series: seriesCount,
      episodes: mine.length,
      truePositives,
      precision: mine.length === 0 ? 1 : truePositives / mine.length,
      falseAlerts,
      seriesWeeks,
      falseAlertsPerSeriesWeek: seriesWeeks === 0 ? 0 : falseAlerts / seriesWeeks,
    };
  };
  const byClass = Object.fromEntries(VOLUME_CLASSES.map((c) => [c, figures((id) => classOf.get(id) === c)])) as Record<VolumeClass, ClassFigures>;
  const byKind = Object.fromEntries(ANOMALY_KINDS.map((k) => [k, recallOf(outcomes.filter((o) => o.a.kind === k))])) as Record<AnomalyKind, RecallFigures>;
  const releases = outcomes.filter((o) => o.a.kind === 'release' && o.first !== undefined);
  const hours = releases.filter((o) => o.first!.resolvedBucket !== null).map((o) => ((o.first!.resolvedBucket! - o.first!.firedBucket) * BUCKET_MS) / 3_600_000);
  hours.sort((a, b) => a - b);
  return {
    overall: figures(() => true),
    byClass,
    byKind,
    releases: { detected: releases.length, resolved: hours.length, medianFiringHours: quantile(hours, 0.5) },
  };
}

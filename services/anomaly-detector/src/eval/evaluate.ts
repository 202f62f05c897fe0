import { BUILTIN_RULES, type EffectiveRule } from '../rules/defaults';
import { BUCKET_MS, computeBaseline, historyBuckets, judge } from '../stats/baseline';
import { step, type AlertRecord } from '../lifecycle/alert';
import type { AnomalyKind, Dataset, EvalMetric, InjectedAnomaly } from './dataset';
import { EVAL_METRICS } from './dataset';

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
}

export interface EvalReport {
  anomalies: number;
  detected: number;
  recall: number;
  episodes: number;
  truePositives: number;
  precision: number;
  falseAlerts: number;
  seriesWeeks: number;
  /** False alerts per series-week, a series being one connector action (all three metrics). */
  falseAlertsPerSeriesWeek: number;
  recallByKind: Record<AnomalyKind, { total: number; detected: number }>;
  /** Median minutes from anomaly start to firing, over detected anomalies. */
  medianDelayMinutes: number;
}

/** Firing that begins this many buckets after an anomaly ends still counts for it (30 min). */
export const GRACE_BUCKETS = 6;

/**
 * Runs the statistical rules over the data set exactly as the service does per 5-minute bucket
 * (baseline from earlier buckets, judge, lifecycle step with `for` / `keep_firing_for`), and scores
 * the firing episodes against the injected anomalies.
 */
export function evaluate(dataset: Dataset, rules: EvalRules = builtinEvalRules()): { report: EvalReport; episodes: Episode[] } {
  const episodes: Episode[] = [];
  for (const s of dataset.series) {
    for (const metric of EVAL_METRICS) {
      const rule = rules[metric];
      const values = s[metric];
      const history = new Map<number, number>();
      const keep = historyBuckets();
      let record: AlertRecord | null = null;
      for (let i = 0; i < values.length; i++) {
        const bucket = s.firstBucket + i;
        const value = values[i]!;
        const calls = s.calls[i]!;
        let breach = false;
        if (calls >= rule.minCalls) {
          const baseline = computeBaseline(history, bucket, { warmupPoints: rule.warmupPoints });
          if (baseline !== null) {
            breach = judge(baseline, value, calls, { sensitivity: rule.sensitivity, minDelta: rule.minDelta, nature: metric === 'p95' ? 'latency' : 'ratio' }).anomalous;
          }
        }
        const at = bucket * BUCKET_MS;
        const { next, change } = step(
          record,
          { at, breach, fingerprint: `${s.id}/${metric}`, tenant: 'eval', rule: rule.name, labels: {}, annotations: {}, value, threshold: null, window: '5m', generatorURL: '' },
          rule,
        );
        record = next;
        if (change === 'firing') episodes.push({ series: s.id, metric, firedBucket: bucket });
        history.set(bucket, value);
        history.delete(bucket - keep);
      }
    }
  }
  return { report: score(dataset, episodes), episodes };
}

function matchesEpisode(a: InjectedAnomaly, e: Episode): boolean {
  return a.series === e.series && a.metric === e.metric && e.firedBucket >= a.startBucket && e.firedBucket < a.endBucket + GRACE_BUCKETS;
}

function score(dataset: Dataset, episodes: Episode[]): EvalReport {
  const recallByKind: EvalReport['recallByKind'] = { spike: { total: 0, detected: 0 }, level_shift: { total: 0, detected: 0 }, drift: { total: 0, detected: 0 } };
  const delays: number[] = [];
  let detected = 0;
  for (const a of dataset.anomalies) {
    recallByKind[a.kind].total++;
    const first = episodes.filter((e) => matchesEpisode(a, e)).sort((x, y) => x.firedBucket - y.firedBucket)[0];
    if (first !== undefined) {
      detected++;
      recallByKind[a.kind].detected++;
      delays.push(((first.firedBucket - a.startBucket) * BUCKET_MS) / 60_000);
    }
  }
  const truePositives = episodes.filter((e) => dataset.anomalies.some((a) => matchesEpisode(a, e))).length;
  const falseAlerts = episodes.length - truePositives;
  const seriesWeeks = (dataset.series.length * dataset.days) / 7;
  delays.sort((a, b) => a - b);
  return {
    anomalies: dataset.anomalies.length,
    detected,
    recall: dataset.anomalies.length === 0 ? 1 : detected / dataset.anomalies.length,
    episodes: episodes.length,
    truePositives,
    precision: episodes.length === 0 ? 1 : truePositives / episodes.length,
    falseAlerts,
    seriesWeeks,
    falseAlertsPerSeriesWeek: falseAlerts / seriesWeeks,
    recallByKind,
    medianDelayMinutes: delays.length === 0 ? 0 : delays[delays.length >> 1]!,
  };
}

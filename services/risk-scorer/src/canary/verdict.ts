import type { SketchBuckets } from '@pulsegate/windows';
import { bucketValue, exactRateTest, mannWhitneyBuckets, quantileKey, weightAbove } from './stats';

/** Telemetry of one action of one version over the chosen window. */
export interface ActionTelemetry {
  /** Calls (weighted). */
  calls: number;
  /** Failed calls that were not throttled. */
  errors: number;
  /** Throttled calls (429). */
  throttled: number;
  /** Latency sketch buckets (see @pulsegate/windows); absent = latency not judged. */
  latency?: SketchBuckets;
}

/** Thresholds of the judge; every default is stated. */
export interface CanaryOptions {
  /** Fewest calls each side needs before any verdict but inconclusive. Default 500. */
  minCalls: number;
  /** Significance level of each one-sided test. Default 0.01. */
  alpha: number;
  /** Smallest P95 increase that matters, ratio (0.1 = +10 %). Default 0.1. */
  minP95Increase: number;
  /** Smallest rate increase that matters, absolute ratio (0.005 = 0.5 points). Default 0.005. */
  minRateIncrease: number;
}

export const DEFAULT_CANARY_OPTIONS: CanaryOptions = { minCalls: 500, alpha: 0.01, minP95Increase: 0.1, minRateIncrease: 0.005 };

export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** The verdict on one metric of one action, with what it was decided on. */
export interface MetricVerdict {
  metric: 'latency' | 'errorRate' | 'throttleRate';
  verdict: Verdict;
  /** Baseline and candidate values: P95 ms for latency, rate 0–1 for rates; null when unknown. */
  baseline: number | null;
  candidate: number | null;
  /** The test statistic: z of the rank test (latency) or the candidate's event count (rates). */
  statistic: number | null;
  pValue: number | null;
  /** Effect size: P(candidate call slower) for latency; rate difference for rates. */
  effect: number | null;
  /** The thresholds applied, as text. */
  threshold: string;
  reason: string;
}

/** The verdict on one action: fail if any metric fails, inconclusive if any is, else pass. */
export interface ActionVerdict {
  action: string;
  verdict: Verdict;
  baselineCalls: number;
  candidateCalls: number;
  metrics: MetricVerdict[];
}

/** Baseline-vs-candidate verdict over every action either side served. */
export interface CanaryVerdict {
  verdict: Verdict;
  actions: ActionVerdict[];
  options: CanaryOptions;
}

const worst = (vs: Verdict[]): Verdict => (vs.includes('fail') ? 'fail' : vs.includes('inconclusive') || vs.length === 0 ? 'inconclusive' : 'pass');
const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;

function rateVerdict(metric: 'errorRate' | 'throttleRate', xA: number, nA: number, xB: number, nB: number, o: CanaryOptions): MetricVerdict {
  const threshold = `p < ${o.alpha} and increase >= ${pct(o.minRateIncrease)} (exact conditional test), >= ${o.minCalls} calls per side`;
  const rA = nA > 0 ? xA / nA : null;
  const rB = nB > 0 ? xB / nB : null;
  if (nA < o.minCalls || nB < o.minCalls) {
    const who = nA < o.minCalls ? `baseline has ${nA} calls` : `candidate has ${nB} calls`;
    return { metric, verdict: 'inconclusive', baseline: rA, candidate: rB, statistic: null, pValue: null, effect: null, threshold, reason: `${who}, fewer than ${o.minCalls}` };
  }
  // Pooled counts over the window, not a per-interval series: a sparse series is mostly zeros,
  // which a rank test over intervals cannot tell apart.
  const p = exactRateTest(xA, nA, xB, nB);
  const diff = rB! - rA!;
  const fail = p < o.alpha && diff >= o.minRateIncrease;
  const reason = fail
    ? `${pct(rA!)} -> ${pct(rB!)}: significant (p = ${p.toPrecision(3)}) and at least ${pct(o.minRateIncrease)} higher`
    : p < o.alpha
      ? `${pct(rA!)} -> ${pct(rB!)}: significant but below the practical difference ${pct(o.minRateIncrease)}`
      : `${pct(rA!)} -> ${pct(rB!)}: no significant increase (p = ${p.toPrecision(3)})`;
  return { metric, verdict: fail ? 'fail' : 'pass', baseline: rA, candidate: rB, statistic: xB, pValue: p, effect: diff, threshold, reason };
}

function latencyVerdict(a: ActionTelemetry, b: ActionTelemetry, o: CanaryOptions): MetricVerdict {
  const threshold = `p < ${o.alpha} (Mann-Whitney U, or tail above the baseline P95) and P95 increase >= ${pct(o.minP95Increase)}, >= ${o.minCalls} calls per side`;
  const kA = a.latency === undefined ? null : quantileKey(a.latency, 0.95);
  const kB = b.latency === undefined ? null : quantileKey(b.latency, 0.95);
  const p95A = kA === null ? null : bucketValue(kA);
  const p95B = kB === null ? null : bucketValue(kB);
  const base = { metric: 'latency' as const, baseline: p95A, candidate: p95B, threshold };
  if (a.calls < o.minCalls || b.calls < o.minCalls) {
    const who = a.calls < o.minCalls ? `baseline has ${a.calls} calls` : `candidate has ${b.calls} calls`;
    return { ...base, verdict: 'inconclusive', statistic: null, pValue: null, effect: null, reason: `${who}, fewer than ${o.minCalls}` };
  }
  if (kA === null || kB === null) return { ...base, verdict: 'inconclusive', statistic: null, pValue: null, effect: null, reason: `no latency distribution for the ${kA === null ? 'baseline' : 'candidate'}` };
  const rank = mannWhitneyBuckets(a.latency!, b.latency!);
  // Tail test: the share of calls above the baseline's P95 bucket. A spread-only change (same
  // median, longer tail) moves no ranks much but moves this share; both tests need the P95 to
  // rise by the practical difference, so a variance change alone that spares P95 never fails.
  const tA = weightAbove(a.latency!, kA);
  const tB = weightAbove(b.latency!, kA);
  const pTail = exactRateTest(tA.above, tA.total, tB.above, tB.total);
  const increase = p95A! > 0 ? p95B! / p95A! - 1 : p95B! > 0 ? Infinity : 0;
  const significant = rank.pValue < o.alpha || pTail < o.alpha;
  const fail = significant && increase >= o.minP95Increase;
  const p = Math.min(rank.pValue, pTail);
  const change = `P95 ${p95A!.toFixed(1)} -> ${p95B!.toFixed(1)} ms (${increase >= 0 ? '+' : ''}${(increase * 100).toFixed(1)} %)`;
  const reason = fail
    ? `${change}: slower (rank p = ${rank.pValue.toPrecision(3)}, tail p = ${pTail.toPrecision(3)}, P(candidate slower) = ${rank.effect.toFixed(3)})`
    : significant
      ? `${change}: a significant shift below the practical difference ${pct(o.minP95Increase)}`
      : `${change}: no significant slowdown (rank p = ${rank.pValue.toPrecision(3)}, tail p = ${pTail.toPrecision(3)})`;
  return { ...base, verdict: fail ? 'fail' : 'pass', statistic: rank.z, pValue: p, effect: rank.effect, reason };
}

const EMPTY: ActionTelemetry = { calls: 0, errors: 0, throttled: 0 };

/**
 * Judges a candidate version against the baseline running beside it, per action: latency by a
 * rank test over the sketch buckets plus a tail test, error and throttle rates by an exact test
 * on pooled counts; each needs statistical significance and a practical difference to fail. Too
 * few calls on either side (a baseline without data included) is inconclusive, never pass.
 */
export function judgeCanary(baseline: Record<string, ActionTelemetry>, candidate: Record<string, ActionTelemetry>, options: Partial<CanaryOptions> = {}): CanaryVerdict {
  const o = { ...DEFAULT_CANARY_OPTIONS, ...options };
  const names = [...new Set([...Object.keys(baseline), ...Object.keys(candidate)])].sort();
  const actions = names.map((action): ActionVerdict => {
    const a = baseline[action] ?? EMPTY;
    const b = candidate[action] ?? EMPTY;
    const metrics = [latencyVerdict(a, b, o), rateVerdict('errorRate', a.errors, a.calls, b.errors, b.calls, o), rateVerdict('throttleRate', a.throttled, a.calls, b.throttled, b.calls, o)];
    if (a.latency === undefined && b.latency === undefined) metrics.shift(); // latency not supplied: judged on rates only
    return { action, verdict: worst(metrics.map((m) => m.verdict)), baselineCalls: a.calls, candidateCalls: b.calls, metrics };
  });
  return { verdict: worst(actions.map((x) => x.verdict)), actions, options: o };
}

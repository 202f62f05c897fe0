/** What a rule reads: series metrics from SeriesSnapshot windows, adoption figures from AdoptionSnapshot. */
export type RuleMetric =
  | 'successRate'
  | 'p95'
  | 'throttleRate'
  | 'errorRate'
  | 'errorMappingCoverage'
  | 'latestMinorShare'
  | 'deprecatedShare'
  | 'callsPastSunset'
  | 'deprecatedVersionShare';

/** A threshold per action kind; rules that do not depend on the kind use the same value twice. */
export interface KindValue {
  read: number;
  write: number;
}

/** One rule with every setting resolved (built-in default, then overrides from the rules file). */
export interface EffectiveRule {
  name: string;
  /**
   * threshold: compare with a fixed limit; anomaly: compare with the series' own robust baseline;
   * notice: a one-time notification per scope when the value crosses the limit (no lifecycle).
   */
  type: 'threshold' | 'anomaly' | 'notice';
  subject: 'series' | 'adoption';
  metric: RuleMetric;
  /** Snapshot window the rule reads ('5m', '1h'); adoption rules read the adoption snapshot's window. */
  window: string;
  /** Breach when value `op` threshold. Anomaly rules only fire upwards ('>'). */
  op: '<' | '>';
  /** Threshold rules only; ratios are 0–1, latencies ms. */
  threshold: KindValue | null;
  /** Hysteresis: a firing alert resolves only once the value is back past this (null: same as threshold). */
  clearThreshold: KindValue | null;
  /** Fewer calls than this in the window: no verdict (anomaly rules judge longer windows instead). */
  minCalls: number;
  /** Time in breach before pending becomes firing, ms. */
  forMs: number;
  /** Time a firing alert stays firing after the breach ends, ms (anti-flapping). */
  keepFiringForMs: number;
  /** Adoption rules: the latest minor / the deprecation notice must be at least this old, ms. */
  minAgeMs: number;
  /** Anomaly rules: evidence needed, as a one-sided normal z (rates: exact test at level P(Z > z); P95: deviation / robust sigma). */
  sensitivity: number;
  /** Anomaly rules: 5-minute buckets of history a series needs before the rule may fire (864 = 3 days). */
  warmupPoints: number;
  /** Anomaly rules: smallest increase over the baseline worth an alert, in the metric's unit. */
  minDelta: number;
  severity: 'info' | 'warning' | 'critical';
  disabled: boolean;
  summary: string;
}

const MIN = 60_000;
const DAY = 86_400_000;

const base = {
  clearThreshold: null,
  minAgeMs: 0,
  sensitivity: 0,
  warmupPoints: 0,
  minDelta: 0,
  disabled: false,
} as const;

const same = (v: number): KindValue => ({ read: v, write: v });

/**
 * Built-in rules: the connector programme's targets (success ≥ 99 %, P95 < 750 ms read / 1500 ms
 * write, throttles < 1 %, latest-minor adoption ≥ 80 % within 30 days, deprecated use < 5 % after 30
 * days' notice, 100 % error-mapping coverage), the version lifecycle (traffic past a version's
 * catalog sunset; a one-time "ready to sunset" notice once a deprecated version's share is under
 * 5 %) plus three statistical anomaly rules.
 */
export const BUILTIN_RULES: readonly EffectiveRule[] = [
  {
    ...base,
    name: 'SuccessRateLow',
    type: 'threshold',
    subject: 'series',
    metric: 'successRate',
    window: '5m',
    op: '<',
    threshold: same(0.99),
    minCalls: 50,
    forMs: 2 * MIN,
    keepFiringForMs: 5 * MIN,
    severity: 'critical',
    summary: 'success rate below target',
  },
  {
    ...base,
    name: 'LatencyP95High',
    type: 'threshold',
    subject: 'series',
    metric: 'p95',
    window: '5m',
    op: '>',
    threshold: { read: 750, write: 1500 },
    minCalls: 20,
    forMs: 2 * MIN,
    keepFiringForMs: 5 * MIN,
    severity: 'warning',
    summary: 'P95 latency above target',
  },
  {
    ...base,
    name: 'ThrottleRateHigh',
    type: 'threshold',
    subject: 'series',
    metric: 'throttleRate',
    window: '1h',
    op: '>',
    threshold: same(0.01),
    minCalls: 50,
    forMs: 0,
    keepFiringForMs: 10 * MIN,
    severity: 'warning',
    summary: 'throttled (429) share of calls above target',
  },
  {
    ...base,
    name: 'ErrorMappingCoverageLow',
    type: 'threshold',
    subject: 'series',
    metric: 'errorMappingCoverage',
    window: '1h',
    op: '<',
    threshold: same(1),
    minCalls: 1,
    forMs: 0,
    keepFiringForMs: 10 * MIN,
    severity: 'info',
    summary: 'errors without a mapped error code',
  },
  {
    ...base,
    name: 'LatestMinorAdoptionLow',
    type: 'threshold',
    subject: 'adoption',
    metric: 'latestMinorShare',
    window: '30d',
    op: '<',
    threshold: same(0.8),
    minCalls: 1,
    minAgeMs: 30 * DAY,
    forMs: 0,
    keepFiringForMs: 60 * MIN,
    severity: 'info',
    summary: 'latest minor version adoption below target 30 days after release',
  },
  {
    ...base,
    name: 'DeprecatedVersionUse',
    type: 'threshold',
    subject: 'adoption',
    metric: 'deprecatedShare',
    window: '30d',
    op: '>',
    threshold: same(0.05),
    minCalls: 1,
    minAgeMs: 30 * DAY,
    forMs: 0,
    keepFiringForMs: 60 * MIN,
    severity: 'warning',
    summary: 'deprecated versions still used 30 days after the deprecation notice',
  },
  {
    ...base,
    // Per version: calls over the adoption snapshot's recent window (5m) after the catalog sunsetAt.
    name: 'VersionPastSunset',
    type: 'threshold',
    subject: 'adoption',
    metric: 'callsPastSunset',
    window: '5m',
    op: '>',
    threshold: same(0),
    minCalls: 1,
    forMs: 0,
    keepFiringForMs: 15 * MIN,
    severity: 'warning',
    summary: 'calls on a version past its sunset date',
  },
  {
    ...base,
    // Per deprecated version: its share of the connector's calls over the adoption window (30d);
    // min_calls counts the connector's calls in that window.
    name: 'VersionReadyToSunset',
    type: 'notice',
    subject: 'adoption',
    metric: 'deprecatedVersionShare',
    window: '30d',
    op: '<',
    threshold: same(0.05),
    minCalls: 100,
    forMs: 0,
    keepFiringForMs: 0,
    severity: 'info',
    summary: 'deprecated version ready to sunset: its share of calls is under the limit',
  },
  {
    ...base,
    name: 'LatencyP95Anomaly',
    type: 'anomaly',
    subject: 'series',
    metric: 'p95',
    window: '5m',
    op: '>',
    threshold: null,
    minCalls: 50,
    forMs: 10 * MIN,
    keepFiringForMs: 10 * MIN,
    sensitivity: 4,
    warmupPoints: 864,
    minDelta: 10,
    severity: 'warning',
    summary: 'P95 latency far above its usual level',
  },
  {
    ...base,
    name: 'ErrorRateAnomaly',
    type: 'anomaly',
    subject: 'series',
    metric: 'errorRate',
    window: '5m',
    op: '>',
    threshold: null,
    minCalls: 30,
    forMs: 10 * MIN,
    keepFiringForMs: 10 * MIN,
    sensitivity: 4,
    warmupPoints: 864,
    minDelta: 0.005,
    severity: 'warning',
    summary: 'error rate far above its usual level',
  },
  {
    ...base,
    name: 'ThrottleRateAnomaly',
    type: 'anomaly',
    subject: 'series',
    metric: 'throttleRate',
    window: '5m',
    op: '>',
    threshold: null,
    minCalls: 30,
    forMs: 10 * MIN,
    keepFiringForMs: 10 * MIN,
    sensitivity: 4,
    warmupPoints: 864,
    minDelta: 0.005,
    severity: 'warning',
    summary: 'throttle rate far above its usual level',
  },
];

/** Statistical history is kept in 5-minute buckets (the length of the window anomaly rules read). */
export const BUCKET_MS = 300_000;
/** Buckets per day. */
export const DAY_BUCKETS = 86_400_000 / BUCKET_MS;

/** Bucket index (epoch ms / 5 min) of a time. */
export function bucketOf(at: number): number {
  return Math.floor(at / BUCKET_MS);
}

/** How a robust baseline is formed from a series' history. */
export interface BaselineOptions {
  /** Points needed before any verdict (warm-up). */
  warmupPoints: number;
  /** Points of the rolling baseline (most recent buckets before the current one). Default 36 (3 h). */
  rollingPoints?: number;
  /** Days of history with the same hour-of-day before the seasonal profile is used. Default 3. */
  seasonalMinDays?: number;
  /** Days the seasonal profile looks back. Default 7. */
  seasonalDays?: number;
  /** Buckets either side of the same time of day that count as "the same hour". Default 6 (±30 min). */
  seasonalHalfWidth?: number;
}

/** Median and robust spread of what a series usually looks like at this time. */
export interface Baseline {
  mode: 'seasonal' | 'rolling';
  median: number;
  /** 1.4826 × MAD: the standard deviation a normal distribution with this MAD would have. */
  robustSigma: number;
  points: number;
}

/** Buckets kept per series: the seasonal look-back plus one day. */
export function historyBuckets(options: Pick<BaselineOptions, 'seasonalDays'> = {}): number {
  return ((options.seasonalDays ?? 7) + 1) * DAY_BUCKETS;
}

function median(sorted: number[]): number {
  const n = sorted.length;
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function robust(values: number[]): { median: number; robustSigma: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const m = median(sorted);
  const dev = sorted.map((v) => Math.abs(v - m)).sort((a, b) => a - b);
  return { median: m, robustSigma: 1.4826 * median(dev) };
}

/**
 * Baseline for bucket `bucket` from the buckets before it. Seasonal (same time of day on previous
 * days) once `seasonalMinDays` days each hold at least half the slot's buckets, else rolling over
 * the last `rollingPoints` buckets. Null while fewer than `warmupPoints` buckets exist.
 */
export function computeBaseline(history: ReadonlyMap<number, number>, bucket: number, options: BaselineOptions): Baseline | null {
  const rollingPoints = options.rollingPoints ?? 36;
  const minDays = options.seasonalMinDays ?? 3;
  const days = options.seasonalDays ?? 7;
  const half = options.seasonalHalfWidth ?? 6;

  const seasonal: number[] = [];
  let fullDays = 0;
  for (let d = 1; d <= days; d++) {
    let got = 0;
    for (let o = -half; o <= half; o++) {
      const v = history.get(bucket - d * DAY_BUCKETS + o);
      if (v !== undefined) {
        seasonal.push(v);
        got++;
      }
    }
    if (got >= half + 1) fullDays++;
  }
  if (fullDays >= minDays && seasonal.length >= options.warmupPoints) {
    return { mode: 'seasonal', ...robust(seasonal), points: seasonal.length };
  }
  const rolling: number[] = [];
  // Look back twice the window so a few missing buckets (quiet minutes) do not shrink it much.
  for (let b = bucket - 1; b >= bucket - 2 * rollingPoints && rolling.length < rollingPoints; b--) {
    const v = history.get(b);
    if (v !== undefined) rolling.push(v);
  }
  if (rolling.length < Math.max(1, Math.min(options.warmupPoints, rollingPoints))) return null;
  return { mode: 'rolling', ...robust(rolling), points: rolling.length };
}

/** Verdict on one value against a baseline. */
export interface Judgement {
  anomalous: boolean;
  /** (value − median) / sigma. */
  score: number;
  /** The value above which a point is anomalous. */
  upper: number;
  sigma: number;
}

/** Sensitivity settings of an anomaly rule (see EffectiveRule). */
export interface JudgeOptions {
  /** Robust z-score limit. */
  sensitivity: number;
  /** Smallest increase over the median that counts, in the metric's unit. */
  minDelta: number;
  /** 'ratio' metrics (0–1) also get a binomial noise floor from the current call count. */
  nature: 'ratio' | 'latency';
  /** Floor of sigma as a fraction of the median (latencies are never quieter than this). Default 0.05. */
  relativeFloor?: number;
}

/**
 * Upward anomaly test: value > median + sensitivity × sigma and value − median ≥ minDelta, where
 * sigma = max(robust sigma, relativeFloor × median, binomial sd of a ratio at `calls`).
 */
export function judge(baseline: Baseline, value: number, calls: number, options: JudgeOptions): Judgement {
  const rel = (options.relativeFloor ?? 0.05) * Math.abs(baseline.median);
  let sigma = Math.max(baseline.robustSigma, rel);
  if (options.nature === 'ratio' && calls > 0) {
    const p = Math.min(1, Math.max(baseline.median, 1 / calls));
    sigma = Math.max(sigma, Math.sqrt((p * (1 - p)) / calls));
  }
  if (sigma <= 0) sigma = Number.EPSILON;
  const upper = baseline.median + Math.max(options.sensitivity * sigma, options.minDelta);
  return { anomalous: value > upper, score: (value - baseline.median) / sigma, upper, sigma };
}

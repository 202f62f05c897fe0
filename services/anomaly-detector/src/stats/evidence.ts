// The statistical anomaly rules, as two pure steps shared by the service (detector.ts) and the
// evaluation (eval/evaluate.ts), so what the evaluation scores is what the service runs:
//   prepareEvidence(): once per 5-minute bucket, from the stored history of earlier buckets;
//   assessEvidence():  per snapshot, O(windows) work on the current bucket's figures.
// Rates are judged on counts (exact binomial tail over windows of 5 min to 3 h, so thin series
// accumulate evidence over longer windows); P95 is judged on the 5-minute and the 1-hour window
// (the aggregator's merged sketch), each against its same-time-of-day history.
import { binomialUpperTail, normalUpperTail } from './binomial';
import { BUCKET_MS, DAY_BUCKETS } from './baseline';

/** What is judged: 'rate' = bad calls among calls (errors, throttles); 'latency' = P95 in ms. */
export type EvidenceNature = 'rate' | 'latency';

/** Per-bucket history fields each nature keeps (one stored series per field). */
export const EVIDENCE_FIELDS: Record<EvidenceNature, readonly string[]> = {
  // calls, bad calls, expected bad calls (n × b), seasonal expected rate, adaptation
  rate: ['n', 'k', 'e', 'b', 'd'],
  // ln P95, its seasonal baseline and the adaptation, for the 5-minute and the 1-hour window
  latency: ['v5', 'b5', 'a5', 'vh', 'bh', 'ah'],
};

/**
 * One field's values of the last `size` buckets in a ring (typed arrays: lookups are cheap), with
 * running sums so any range sum costs O(1). Buckets are normally set in ascending order; setting an
 * earlier one (a snapshot overwriting its bucket) recomputes the sums after it.
 */
export class FieldRing {
  private readonly values: Float64Array;
  private readonly stamps: Float64Array;
  private readonly cum: Float64Array;
  private first = -1;
  private last = -1;
  constructor(readonly size: number) {
    this.values = new Float64Array(size);
    this.stamps = new Float64Array(size).fill(-1);
    this.cum = new Float64Array(size);
  }

  get(bucket: number): number | undefined {
    const i = bucket % this.size;
    return this.stamps[i] === bucket ? this.values[i] : undefined;
  }

  set(bucket: number, value: number): void {
    const size = this.size;
    if (this.last >= 0 && bucket <= this.last - size) return; // older than the ring holds
    if (this.last < 0 || bucket >= this.last + size) {
      this.stamps.fill(-1);
      this.first = bucket;
      this.last = bucket;
      this.put(bucket, value);
      this.cum[bucket % size] = value;
      return;
    }
    if (bucket > this.last) {
      let acc = this.cum[this.last % size]!;
      for (let j = this.last + 1; j < bucket; j++) this.cum[j % size] = acc; // gap: no value
      this.put(bucket, value);
      acc += value;
      this.cum[bucket % size] = acc;
      this.last = bucket;
      if (this.first < bucket - size + 1) this.first = bucket - size + 1;
      return;
    }
    // An earlier bucket: recompute the running sums from it on.
    let acc = 0;
    if (bucket < this.first) this.first = bucket;
    else acc = this.cum[bucket % size]! - this.valueAt(bucket);
    this.put(bucket, value);
    for (let j = bucket; j <= this.last; j++) {
      acc += this.valueAt(j);
      this.cum[j % size] = acc;
    }
  }

  private put(bucket: number, value: number): void {
    this.stamps[bucket % this.size] = bucket;
    this.values[bucket % this.size] = value;
  }

  private valueAt(j: number): number {
    const i = j % this.size;
    return this.stamps[i] === j ? this.values[i]! : 0;
  }

  /** Sum of the values of buckets lo..hi (missing buckets count 0; only buckets the ring still holds). */
  sum(lo: number, hi: number): number {
    if (this.last < 0) return 0;
    const l = Math.max(lo, this.first);
    const h = Math.min(hi, this.last);
    if (h < l) return 0;
    return this.cum[h % this.size]! - (this.cum[l % this.size]! - this.valueAt(l));
  }
}

/**
 * Stored history of one series and rule: per field, the last `size` 5-minute buckets. Memory: 24
 * bytes per field and bucket (value, bucket, running sum; 2 304 buckets: 54 KiB per field). The service fills one from the
 * store once per bucket; the evaluation keeps one per series and metric.
 */
export class EvidenceHistory {
  private readonly rings = new Map<string, FieldRing>();
  private first: number | null = null;
  private last: number | null = null;
  constructor(readonly size: number) {}

  /** History from stored maps (field → bucket → value), keeping the newest `size` buckets. */
  static fromMaps(maps: Readonly<Record<string, ReadonlyMap<number, number>>>, size: number): EvidenceHistory {
    const h = new EvidenceHistory(size);
    for (const [field, m] of Object.entries(maps)) for (const [bucket, value] of m) h.set(field, bucket, value);
    return h;
  }

  field(name: string): FieldRing {
    let r = this.rings.get(name);
    if (r === undefined) {
      r = new FieldRing(this.size);
      this.rings.set(name, r);
    }
    return r;
  }

  set(field: string, bucket: number, value: number): void {
    this.field(field).set(bucket, value);
    if (this.first === null || bucket < this.first) this.first = bucket;
    if (this.last === null || bucket > this.last) this.last = bucket;
  }

  /** Oldest bucket still held, or null when empty. */
  oldest(): number | null {
    if (this.first === null || this.last === null) return null;
    return Math.max(this.first, this.last - this.size + 1);
  }
}

/** Settings of one anomaly rule (see EffectiveRule). */
export interface EvidenceOptions {
  /** Evidence needed, as a one-sided normal z; the test level is P(Z > sensitivity) (4 → 3.2e-5). */
  sensitivity: number;
  /** Smallest increase worth an alert: rates absolute (0–1), latency ms. */
  minDelta: number;
  /** Calls a window needs before it is judged (P95: per window; rates: the merged window). */
  minCalls: number;
  /** 5-minute buckets of history the series needs before any verdict (864 = 3 days). */
  warmupPoints: number;
}

/** Tuning constants of the model; stated here so the README and the tests can name them. */
export const EVIDENCE_CONSTANTS = {
  /** Days of same-time-of-day history in the seasonal profile. */
  seasonalDays: 7,
  /** Days of the profile that must hold data before it is used. */
  seasonalMinDays: 3,
  /** Rate slot: ± 1 h around the same time of day (buckets). */
  rateSlotHalfWidth: 12,
  /** Latency slot: ± 15 min (buckets; sharp daily shapes such as a batch job); a day counts when it holds at least half the slot. */
  latencySlotHalfWidth: 3,
  /** Rate windows judged, in 5-minute buckets: 5 min, 15 min, 1 h, 3 h. */
  rateWindows: [1, 3, 12, 36] as readonly number[],
  /** Pseudo-calls of the prior (the previous bucket's rate) that thin slots are shrunk towards. */
  priorCalls: 50,
  /** Rate indifference margin, relative to the expected rate (on top of minDelta). */
  relativeMargin: 0.15,
  /** Level adaptation reads residuals from 24 h to 3 h before the current bucket. */
  adaptFrom: 288,
  adaptTo: 36,
  /** Pseudo-calls with which the previous bucket's rate adaptation carries over. */
  carryCalls: 200,
  /** Floor of the latency spread, ln units (≈ 3 %): day-to-day level changes no history shows. */
  latencySigmaFloor: 0.03,
  /** Rate assumed before a series has any history. */
  defaultRate: 0.01,
} as const;

/** Bucket-level state computed once per bucket from history. */
export type Prepared = RatePrepared | LatencyPrepared;

interface RatePrepared {
  nature: 'rate';
  ready: boolean;
  /** Seasonal expected rate of this bucket (stored as `b`). */
  seasonal: number;
  /** Permanent-shift adaptation added to every expected rate, ≥ 0. */
  delta: number;
  /** Sums over the previous L − 1 buckets, per window L: calls, bad calls, expected bad calls. */
  prev: Array<{ length: number; n: number; k: number; e: number }>;
}

interface LatencyWindowPrep {
  /** Seasonal median of ln P95 (stored as `b5` / `bh`); null while the profile is too thin. */
  seasonal: number | null;
  /** Baseline used: seasonal + adaptation. */
  median: number;
  sigma: number;
  /** Adaptation (ln units, ≥ 0; stored as `a5` / `ah`). */
  delta: number;
  /** Second-highest daily maximum of the slot (+ adaptation): values below it are not anomalous. */
  ceiling: number;
}

interface LatencyPrepared {
  nature: 'latency';
  ready: boolean;
  w5: LatencyWindowPrep;
  wh: LatencyWindowPrep;
}

/** Figures of the current bucket. Rates: calls and bad calls in 5 min. Latency: P95, P50 and calls of 5 min and 1 h. */
export type Observation =
  | { nature: 'rate'; calls: number; bad: number }
  | { nature: 'latency'; calls5m: number; p95_5m: number | null; p50_5m: number | null; calls1h: number; p95_1h: number | null; p50_1h: number | null };

/**
 * Standard deviation of ln(P95) estimated from n calls: √(0.95·0.05/n) / φ(z₉₅) · s, with the
 * log-normal shape s = ln(P95/P50) / z₉₅ (asymptotic sample-quantile variance).
 */
export function p95Noise(p95: number, p50: number | null, n: number): number {
  if (p50 === null || !(p50 > 0) || !(p95 > p50) || n <= 0) return 0;
  const z = 1.6448536269514722;
  const phi = Math.exp(-(z * z) / 2) / Math.sqrt(2 * Math.PI);
  return (Math.sqrt((0.95 * 0.05) / n) / phi) * (Math.log(p95 / p50) / z);
}

/** The verdict on one snapshot plus the points to store for the current bucket. */
export interface Assessment {
  anomalous: boolean;
  /** Value of the deciding window (rate 0–1 or P95 ms); null when nothing could be judged. */
  value: number | null;
  /** Expected value at this time (rate or P95 ms). */
  baseline: number | null;
  /** Rate tested against (baseline + margin), or the P95 limit in ms. */
  threshold: number | null;
  /** Window that decided ('5m', '15m', '1h', '3h'); null when none was judged. */
  window: string | null;
  /** Evidence as a z-equivalent (rates: from the p-value; latency: deviation / sigma). */
  score: number | null;
  /** Calls in the deciding window. */
  calls: number;
  /** field → value to store for the current bucket. */
  record: Array<[string, number]>;
}

function median(sorted: Float64Array): number {
  const n = sorted.length;
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function windowName(buckets: number): string {
  const min = (buckets * BUCKET_MS) / 60_000;
  return min < 60 ? `${min}m` : `${min / 60}h`;
}

/** z with P(Z > z) = p, by bisection on normalUpperTail (only used for the score annotation). */
function zOf(p: number): number {
  if (p <= 0) return 40;
  let lo = -10;
  let hi = 40;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (normalUpperTail(mid) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function prepareRate(h: EvidenceHistory, bucket: number, o: EvidenceOptions): RatePrepared {
  const C = EVIDENCE_CONSTANTS;
  const n = h.field('n');
  const k = h.field('k');
  const e = h.field('e');
  const b = h.field('b');
  const oldest = h.oldest();
  const ready = oldest !== null && oldest <= bucket - o.warmupPoints;

  // Prior: the latest stored expected rate (a smooth recursive estimate), else the last 3 h pooled.
  let prior: number | null = null;
  for (let j = 1; j <= 12 && prior === null; j++) prior = b.get(bucket - j) ?? null;
  if (prior === null) prior = (k.sum(bucket - 36, bucket - 1) + C.defaultRate * C.priorCalls) / (n.sum(bucket - 36, bucket - 1) + C.priorCalls);

  // Seasonal: same time of day ± 1 h on each of the last 7 days, pooled as counts. Up to two days
  // whose bad calls are far above the other days' rate (a past incident) are left out; with thin
  // counts one or two bad calls are not "far above", so sparse series are not biased low.
  const days: Array<{ n: number; k: number }> = [];
  let sn = 0;
  let sk = 0;
  for (let d = 1; d <= C.seasonalDays; d++) {
    const centre = bucket - d * DAY_BUCKETS;
    const dn = n.sum(centre - C.rateSlotHalfWidth, centre + C.rateSlotHalfWidth);
    if (dn <= 0) continue;
    const dk = k.sum(centre - C.rateSlotHalfWidth, centre + C.rateSlotHalfWidth);
    days.push({ n: dn, k: dk });
    sn += dn;
    sk += dk;
  }
  days.sort((x, y) => y.k / y.n - x.k / x.n);
  for (let i = 0; i < Math.min(2, days.length - 1); i++) {
    const d = days[i]!;
    const rest = (sk - d.k + C.defaultRate) / (sn - d.n + 1);
    const expected = d.n * rest;
    if (d.k <= expected + 3 * Math.sqrt(expected + 1)) break;
    sn -= d.n;
    sk -= d.k;
  }
  const seasonal = (sk + C.priorCalls * prior) / (sn + C.priorCalls);

  // Adaptation: bad calls above the stored expectation 24 h to 3 h ago become part of the
  // expectation, so a permanent shift (a release) fires once and then resolves.
  const lo = bucket - C.adaptFrom;
  const hi = bucket - C.adaptTo - 1;
  // Thin windows (nights, weekends) lean on the previous bucket's adaptation instead of forgetting it.
  const carried = latest(h.field('d'), bucket, DAY_BUCKETS) ?? 0;
  const delta = Math.max(0, (k.sum(lo, hi) - e.sum(lo, hi) + C.carryCalls * carried) / (n.sum(lo, hi) + C.carryCalls));

  const prev: RatePrepared['prev'] = C.rateWindows.map((length) => ({
    length,
    n: n.sum(bucket - length + 1, bucket - 1),
    k: k.sum(bucket - length + 1, bucket - 1),
    e: e.sum(bucket - length + 1, bucket - 1),
  }));
  return { nature: 'rate', ready, seasonal, delta, prev };
}

/** Most recent stored value within `maxAge` buckets before `bucket`. */
function latest(r: FieldRing, bucket: number, maxAge: number): number | undefined {
  for (let j = bucket - 1; j >= bucket - maxAge; j--) {
    const x = r.get(j);
    if (x !== undefined) return x;
  }
  return undefined;
}

function prepareLatencyWindow(v: FieldRing, base: FieldRing, adapt: FieldRing, bucket: number): LatencyWindowPrep {
  const C = EVIDENCE_CONSTANTS;
  const pool = new Float64Array(C.seasonalDays * (2 * C.latencySlotHalfWidth + 1));
  let len = 0;
  let fullDays = 0;
  // Highest and second-highest of the days' maxima: a value that two earlier days reached at this
  // time of day is not an anomaly (sharp daily shapes such as a batch job's slow hour vary by day).
  let top1 = -Infinity;
  let top2 = -Infinity;
  for (let d = 1; d <= C.seasonalDays; d++) {
    let got = 0;
    let dayMax = -Infinity;
    const centre = bucket - d * DAY_BUCKETS;
    for (let j = centre - C.latencySlotHalfWidth; j <= centre + C.latencySlotHalfWidth; j++) {
      const x = v.get(j);
      if (x !== undefined) {
        pool[len++] = x;
        got++;
        if (x > dayMax) dayMax = x;
      }
    }
    if (got >= C.latencySlotHalfWidth + 1) fullDays++;
    if (dayMax > top1) {
      top2 = top1;
      top1 = dayMax;
    } else if (dayMax > top2) top2 = dayMax;
  }
  if (fullDays < C.seasonalMinDays) return { seasonal: null, median: 0, sigma: 0, delta: 0, ceiling: 0 };
  const sorted = pool.subarray(0, len).sort();
  const m = median(sorted);
  for (let i = 0; i < len; i++) sorted[i] = Math.abs(sorted[i]! - m);
  const sigma = Math.max(1.4826 * median(sorted.sort()), C.latencySigmaFloor);
  // Adaptation: the median residual over 24 h to 3 h ago (robust to incidents shorter than ~10 h).
  const res = new Float64Array(C.adaptFrom - C.adaptTo);
  let rn = 0;
  for (let j = bucket - C.adaptFrom; j < bucket - C.adaptTo; j++) {
    const x = v.get(j);
    const bj = base.get(j);
    if (x !== undefined && bj !== undefined) res[rn++] = x - bj;
  }
  // Too few points (nights, weekends): keep the last adaptation rather than forget a release.
  const delta = rn >= 24 ? Math.max(0, median(res.subarray(0, rn).sort())) : (latest(adapt, bucket, DAY_BUCKETS) ?? 0);
  return { seasonal: m, median: m + delta, sigma, delta, ceiling: top2 + delta };
}

/** Bucket-level preparation from history (call once per bucket; cost ≈ 7 days × slot + 12 h of lookups). */
export function prepareEvidence(nature: EvidenceNature, history: EvidenceHistory, bucket: number, options: EvidenceOptions): Prepared {
  if (nature === 'rate') return prepareRate(history, bucket, options);
  const first = history.oldest();
  return {
    nature: 'latency',
    ready: first !== null && first <= bucket - options.warmupPoints,
    w5: prepareLatencyWindow(history.field('v5'), history.field('b5'), history.field('a5'), bucket),
    wh: prepareLatencyWindow(history.field('vh'), history.field('bh'), history.field('ah'), bucket),
  };
}

function assessRate(p: RatePrepared, calls: number, bad: number, o: EvidenceOptions): Assessment {
  const record: Array<[string, number]> = [
    ['n', calls],
    ['k', bad],
    ['e', calls * p.seasonal],
    ['b', p.seasonal],
    ['d', p.delta],
  ];
  const alpha = normalUpperTail(o.sensitivity);
  let best: Assessment | null = null;
  let bestP = Infinity;
  if (p.ready) {
    for (const w of p.prev) {
      const n = w.n + calls;
      if (n < o.minCalls || n <= 0) continue;
      const k = w.k + bad;
      const expected = (w.e + calls * p.seasonal) / n + p.delta;
      const tested = Math.min(1, expected + Math.max(o.minDelta, EVIDENCE_CONSTANTS.relativeMargin * expected));
      const pValue = k > n * tested ? binomialUpperTail(k, n, tested) : 1;
      if (pValue < bestP || best === null) {
        bestP = pValue;
        best = { anomalous: pValue < alpha, value: k / n, baseline: expected, threshold: tested, window: windowName(w.length), score: null, calls: n, record };
      }
    }
  }
  if (best !== null) return { ...best, score: zOf(bestP) };
  return { anomalous: false, value: calls > 0 ? bad / calls : null, baseline: p.ready ? p.seasonal + p.delta : null, threshold: null, window: null, score: null, calls, record };
}

function assessLatency(p: LatencyPrepared, obs: Extract<Observation, { nature: 'latency' }>, o: EvidenceOptions): Assessment {
  const record: Array<[string, number]> = [];
  let best: Assessment | null = null;
  const windows = [
    { prep: p.w5, p95: obs.p95_5m, p50: obs.p50_5m, calls: obs.calls5m, v: 'v5', b: 'b5', a: 'a5', name: '5m' },
    { prep: p.wh, p95: obs.p95_1h, p50: obs.p50_1h, calls: obs.calls1h, v: 'vh', b: 'bh', a: 'ah', name: '1h' },
  ];
  for (const w of windows) {
    if (w.prep.seasonal !== null) record.push([w.b, w.prep.seasonal], [w.a, w.prep.delta]);
    if (w.p95 === null || !(w.p95 > 0) || w.calls < o.minCalls) continue;
    const v = Math.log(w.p95);
    record.push([w.v, v]);
    if (!p.ready || w.prep.seasonal === null) continue;
    const m = w.prep.median;
    // The pool's spread (which holds the noise of windows like this one), or the sampling noise of
    // this window's P95 when it is thinner than those of the profile.
    const sigma = Math.max(w.prep.sigma, p95Noise(w.p95, w.p50, w.calls));
    // Limit: k·σ above the baseline in ln units, at least minDelta ms above it, and above what two
    // earlier days reached at this time.
    const limit = Math.max(m + o.sensitivity * sigma, Math.log(Math.exp(m) + o.minDelta), w.prep.ceiling);
    const score = (v - m) / sigma;
    const a: Assessment = { anomalous: v > limit, value: w.p95, baseline: Math.exp(m), threshold: Math.exp(limit), window: w.name, score, calls: w.calls, record };
    if (best === null || (a.anomalous && !best.anomalous) || (a.anomalous === best.anomalous && score > best.score!)) best = a;
  }
  return best ?? { anomalous: false, value: obs.p95_5m, baseline: null, threshold: null, window: null, score: null, calls: obs.calls5m, record };
}

/** Verdict on the current bucket's figures (O(windows) work) and the points to store for it. */
export function assessEvidence(prepared: Prepared, obs: Observation, options: EvidenceOptions): Assessment {
  if (prepared.nature === 'rate' && obs.nature === 'rate') return assessRate(prepared, obs.calls, obs.bad, options);
  if (prepared.nature === 'latency' && obs.nature === 'latency') return assessLatency(prepared, obs, options);
  throw new Error(`assessEvidence: a ${prepared.nature} preparation cannot judge a ${obs.nature} observation`);
}

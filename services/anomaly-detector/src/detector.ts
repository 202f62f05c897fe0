import type { Bus } from '@pulsegate/bus';
import { seriesKey, Topics, type AdoptionSnapshot, type AlertEvent, type MetricSnapshot, type SeriesSnapshot, type WindowMetrics } from '@pulsegate/events';
import type { Logger } from '@pulsegate/logging';
import { groupOf, rfc3339 } from './delivery/alertmanager';
import { step, type AlertRecord, type Change, type Evaluation } from './lifecycle/alert';
import { fingerprint } from './lifecycle/fingerprint';
import type { RuleMetric } from './rules/defaults';
import { pastSunset, readyToSunset, type VersionJudgement } from './rules/sunset';
import type { RuleBook, Scope } from './rules/rule-book';
import type { Receiver } from './rules/rules-file';
import { silencedBy, type Silence } from './silences/matchers';
import { bucketOf, historyBuckets } from './stats/baseline';
import { assessEvidence, EVIDENCE_FIELDS, EvidenceHistory, prepareEvidence, type EvidenceNature, type Observation, type Prepared } from './stats/evidence';
import type { DetectorStore, OutboxItem, WebhookAlert } from './store/types';
import type { AlertHistoryStore, TransitionEntry } from './history/store';
import type { SloEngine } from './slo/engine';
import type { Verdict } from './verdict';

/** What the detector needs; every time comes from `clock` or the snapshot's own `at`. */
export interface DetectorOptions {
  store: DetectorStore;
  bus: Bus;
  logger: Logger;
  clock: () => number;
  rules: RuleBook;
  receivers: readonly Receiver[];
  groupBy: readonly string[];
  /** Re-send still-firing alerts after this long, ms; 0 = never. */
  repeatIntervalMs: number;
  /** Base URL of the aggregator for generatorURL links. */
  aggregatorUrl: string;
  /** Firing / pending alerts without an evaluation for this long resolve ("no data"), ms. */
  staleAfterMs: number;
  /** Resolved / inactive alerts are forgotten after this long, ms. */
  retentionMs: number;
  /** SLO ledger and burn-rate alerts; omitted = no SLO alerts. */
  slo?: SloEngine;
  /** Records every state transition; omitted = no history. */
  history?: AlertHistoryStore;
}

const TIMESERIES_METRIC: Record<RuleMetric, string> = {
  successRate: 'successRate',
  p95: 'p95',
  throttleRate: 'throttleRate',
  errorRate: 'errorRate',
  errorMappingCoverage: 'errorMappingCoverage',
  latestMinorShare: 'adoption',
  deprecatedShare: 'adoption',
  callsPastSunset: 'calls',
  deprecatedVersionShare: 'adoption',
};

/** Adoption metrics judged per version (src/rules/sunset.ts) rather than per connector. */
const PER_VERSION: ReadonlySet<RuleMetric> = new Set(['callsPastSunset', 'deprecatedVersionShare']);
const ADOPTION_PATH: ReadonlySet<RuleMetric> = new Set(['latestMinorShare', 'deprecatedShare', 'deprecatedVersionShare']);

/** Metric value of a window; errorRate = (calls − successes − throttled) / calls. Null without data. */
export function windowValue(w: WindowMetrics, metric: RuleMetric): number | null {
  switch (metric) {
    case 'successRate':
      return w.successRate;
    case 'p95':
      return w.latencyMs.p95;
    case 'throttleRate':
      return w.throttleRate;
    case 'errorMappingCoverage':
      return w.errorMappingCoverage;
    case 'errorRate':
      return w.calls > 0 ? Math.max(0, w.calls - w.successes - w.throttled) / w.calls : null;
    default:
      return null;
  }
}

/** The figures an anomaly rule judges: the '5m' window's counts (rates) or the '5m' and '1h' P95s. */
export function observe(s: SeriesSnapshot, metric: RuleMetric): Observation {
  const w5 = s.windows['5m'];
  const w1h = s.windows['1h'];
  if (metric === 'p95') {
    return { nature: 'latency', calls5m: w5?.calls ?? 0, p95_5m: w5?.latencyMs.p95 ?? null, p50_5m: w5?.latencyMs.p50 ?? null, calls1h: w1h?.calls ?? 0, p95_1h: w1h?.latencyMs.p95 ?? null, p50_1h: w1h?.latencyMs.p50 ?? null };
  }
  const calls = w5?.calls ?? 0;
  const bad = w5 === undefined ? 0 : metric === 'throttleRate' ? w5.throttled : Math.max(0, w5.calls - w5.successes - w5.throttled);
  return { nature: 'rate', calls, bad };
}

function breaches(value: number, op: '<' | '>', limit: number): boolean {
  return op === '<' ? value < limit : value > limit;
}

function fmt(v: number | null): string {
  if (v === null) return 'n/a';
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

/**
 * Turns metric snapshots into alert state: evaluates every enabled rule, steps the lifecycle with
 * optimistic concurrency in the store, queues webhook notifications (unless silenced) and publishes
 * AlertEvents for firing and resolved transitions.
 */
export class Detector {
  private readonly prepared = new Map<string, { bucket: number; prepared: Prepared }>();

  constructor(private readonly o: DetectorOptions) {}

  async process(snapshot: MetricSnapshot): Promise<void> {
    const verdicts = snapshot.type === 'series' ? await this.seriesVerdicts(snapshot) : this.adoptionVerdicts(snapshot);
    if (snapshot.type === 'series' && this.o.slo !== undefined) verdicts.push(...(await this.o.slo.observe(snapshot)));
    const notices = snapshot.type === 'adoption' ? readyToSunset(this.o.rules, snapshot).filter((n) => n.breach) : [];
    if (verdicts.length === 0 && notices.length === 0) return;
    const silences = await this.o.store.listSilences(snapshot.tenant);
    for (const v of verdicts) await this.apply(snapshot.tenant, snapshot.at, v, silences);
    for (const n of notices) await this.notice(snapshot.tenant, snapshot.at, n, silences);
  }

  private generatorURL(scope: Scope, metric: RuleMetric, window: string): string {
    const base = this.o.aggregatorUrl.replace(/\/+$/, '');
    const q = new URLSearchParams({ metric: TIMESERIES_METRIC[metric], window: window === '30d' ? '30d' : '1h', step: '1m' });
    if (scope.action !== undefined) q.set('action', scope.action);
    if (scope.version !== undefined) q.set('version', scope.version);
    if (scope.kind !== undefined) q.set('kind', scope.kind);
    const path = ADOPTION_PATH.has(metric) ? 'versions' : 'timeseries';
    if (path === 'versions') return `${base}/v1/connectors/${encodeURIComponent(scope.connector!)}/versions?window=${encodeURIComponent(window)}`;
    return `${base}/v1/connectors/${encodeURIComponent(scope.connector!)}/${path}?${q.toString()}`;
  }

  private async seriesVerdicts(s: SeriesSnapshot): Promise<Verdict[]> {
    const scope: Scope = { tenant: s.tenant, connector: s.connector, action: s.action, version: s.version, kind: s.kind };
    const out: Verdict[] = [];
    const seriesId = [s.connector, s.action, s.version, s.kind].join('\u001f');
    for (const rule of this.o.rules.resolveAll(scope)) {
      if (rule.disabled || rule.subject !== 'series') continue;
      const w = s.windows[rule.window];
      const value = w === undefined ? null : windowValue(w, rule.metric);
      const calls = w?.calls ?? 0;
      const labels = { alertname: rule.name, tenant: s.tenant, connector: s.connector, action: s.action, version: s.version, kind: s.kind, severity: rule.severity };
      const common = { rule, labels, value: value as number | null, window: rule.window, generatorURL: this.generatorURL(scope, rule.metric, rule.window) };
      if (rule.type === 'threshold') {
        const limit = rule.threshold?.[s.kind] ?? null;
        const clear = rule.clearThreshold?.[s.kind] ?? limit;
        const ok = value !== null && limit !== null && calls >= rule.minCalls;
        out.push({ ...common, threshold: limit, breachFire: ok && breaches(value, rule.op, limit), breachClear: ok && breaches(value, rule.op, clear!), extra: { calls: fmt(calls) } });
        continue;
      }
      // Anomaly rule: bucket-level preparation from the stored history (once per bucket), then the
      // verdict on this snapshot's counts / P95s and the bucket's points stored: the same two
      // steps eval/evaluate.ts scores.
      const bucket = bucketOf(s.at);
      const histId = `${seriesId}\u001f${rule.metric}`;
      const cacheKey = `${s.tenant}\u001f${histId}`;
      const nature: EvidenceNature = rule.metric === 'p95' ? 'latency' : 'rate';
      const options = { sensitivity: rule.sensitivity, minDelta: rule.minDelta, minCalls: rule.minCalls, warmupPoints: rule.warmupPoints };
      let cached = this.prepared.get(cacheKey);
      if (cached === undefined || cached.bucket !== bucket) {
        const fields = EVIDENCE_FIELDS[nature];
        const maps = await Promise.all(fields.map((f) => this.o.store.history(s.tenant, `${histId}\u001f${f}`)));
        const history = EvidenceHistory.fromMaps(Object.fromEntries(fields.map((f, i) => [f, maps[i]!])), historyBuckets());
        cached = { bucket, prepared: prepareEvidence(nature, history, bucket, options) };
        this.prepared.set(cacheKey, cached);
      }
      const a = assessEvidence(cached.prepared, observe(s, rule.metric), options);
      for (const [field, point] of a.record) await this.o.store.recordPoint(s.tenant, `${histId}\u001f${field}`, bucket, point, historyBuckets());
      const breach = a.anomalous;
      const threshold = a.threshold;
      const extra: Record<string, string> = { calls: fmt(a.calls) };
      if (a.window !== null) {
        Object.assign(extra, { baseline: fmt(a.baseline), score: fmt(a.score), evidenceWindow: a.window, sensitivity: fmt(rule.sensitivity) });
      } else if (!cached.prepared.ready) {
        extra.baselineMode = 'warming-up';
      }
      common.value = a.value;
      out.push({ ...common, threshold, breachFire: breach, breachClear: breach, extra });
    }
    return out;
  }

  private adoptionVerdicts(a: AdoptionSnapshot): Verdict[] {
    const scope: Scope = { tenant: a.tenant, connector: a.connector };
    const calls = a.versions.reduce((sum, v) => sum + v.calls, 0);
    const out: Verdict[] = [];
    for (const rule of this.o.rules.resolveAll(scope)) {
      if (rule.disabled || rule.subject !== 'adoption' || PER_VERSION.has(rule.metric)) continue;
      let value: number | null = null;
      if (rule.metric === 'latestMinorShare') {
        // Judged only once the latest minor has been out for min_age (30 days by default).
        if (a.latestMinorReleasedAt !== null && a.at - a.latestMinorReleasedAt >= rule.minAgeMs) value = a.latestMinorShare;
      } else if (rule.metric === 'deprecatedShare') {
        // Only versions whose deprecation notice is at least min_age old count.
        value = a.versions.filter((v) => v.deprecatedAt !== null && a.at - v.deprecatedAt >= rule.minAgeMs).reduce((sum, v) => sum + v.share, 0);
      }
      const limit = rule.threshold?.read ?? null;
      const clear = rule.clearThreshold?.read ?? limit;
      const ok = value !== null && limit !== null && calls >= rule.minCalls && calls > 0;
      out.push({
        rule,
        labels: { alertname: rule.name, tenant: a.tenant, connector: a.connector, severity: rule.severity },
        value,
        threshold: limit,
        window: a.window,
        generatorURL: this.generatorURL(scope, rule.metric, a.window),
        breachFire: ok && breaches(value!, rule.op, limit!),
        breachClear: ok && breaches(value!, rule.op, clear!),
        extra: { calls: fmt(calls), latest: a.latest ?? 'unknown' },
      });
    }
    for (const j of pastSunset(this.o.rules, a)) {
      const window = j.window;
      out.push({
        rule: j.rule,
        labels: j.labels,
        value: j.value,
        threshold: j.threshold,
        window,
        generatorURL: this.generatorURL({ ...scope, version: j.version.version }, j.rule.metric, window),
        breachFire: j.breach,
        breachClear: j.breach,
        extra: { calls: fmt(j.version.recentCalls ?? null), sunsetAt: rfc3339(j.version.sunsetAt ?? null) },
      });
    }
    return out;
  }

  /**
   * A one-time notice (VersionReadyToSunset): queued to the receivers unless silenced, then
   * remembered in the store so it goes out once per tenant, connector and version, across
   * evaluations, instances and restarts. The queue is idempotent by key, so a crash between the
   * two steps re-queues the same notification rather than losing or doubling it.
   */
  private async notice(tenant: string, at: number, n: VersionJudgement, silences: Silence[]): Promise<void> {
    const window = n.window;
    const id = `${n.rule.name}\u001f${n.labels.connector}\u001f${n.version.version}`;
    if ((await this.o.store.noticeSentAt(tenant, id)) !== null) return;
    const fp = fingerprint(n.labels);
    const alert: WebhookAlert = {
      status: 'firing',
      labels: n.labels,
      annotations: {
        summary: n.rule.summary,
        description: `version ${n.version.version}: share ${fmt(n.value)} ${n.rule.op} ${fmt(n.threshold)} over ${window}`,
        value: fmt(n.value),
        threshold: fmt(n.threshold),
        window,
        calls: fmt(n.version.calls),
        deprecatedAt: rfc3339(n.version.deprecatedAt),
        sunsetAt: rfc3339(n.version.sunsetAt ?? null),
      },
      startsAt: rfc3339(at),
      endsAt: rfc3339(null),
      generatorURL: this.generatorURL({ tenant, connector: n.labels.connector }, n.rule.metric, window),
      fingerprint: fp,
    };
    const muted = silencedBy(silences, n.labels, this.o.clock()).length > 0;
    if (!muted) await this.o.store.enqueue(this.outbox(tenant, alert, (receiver) => `${fp}.notice.${receiver}`, () => null));
    if (!(await this.o.store.markNoticeSent(tenant, id, at))) return;
    await this.recordHistory({ kind: 'transition', at, tenant, fingerprint: fp, rule: n.rule.name, labels: n.labels, from: null, to: 'notified' });
  }

  private async apply(tenant: string, at: number, v: Verdict, silences: Silence[]): Promise<void> {
    const fp = fingerprint(v.labels);
    const annotations = {
      summary: v.rule.summary,
      description: `${v.rule.metric} ${fmt(v.value)} ${v.rule.op} ${fmt(v.threshold)} over ${v.window}`,
      value: fmt(v.value),
      threshold: fmt(v.threshold),
      window: v.window,
      ...v.extra,
    };
    for (let attempt = 0; attempt < 8; attempt++) {
      const prev = await this.o.store.getAlert(tenant, fp);
      const breach = prev?.state === 'firing' ? v.breachClear : v.breachFire;
      const ev: Evaluation = { at, breach, fingerprint: fp, tenant, rule: v.rule.name, labels: v.labels, annotations, value: v.value, threshold: v.threshold, window: v.window, generatorURL: v.generatorURL };
      if (await this.commit(prev, ev, v.rule, silences)) return;
    }
    this.o.logger.warn({ tenant, fingerprint: fp }, 'alert update kept losing races; skipped this evaluation');
  }

  /** One lifecycle step plus its side effects; false when another writer got there first. */
  private async commit(prev: AlertRecord | null, ev: Evaluation, timing: { forMs: number; keepFiringForMs: number }, silences: Silence[]): Promise<boolean> {
    const { next, change } = step(prev, ev, timing);
    if (next === null || next === prev) return true;
    const record: AlertRecord = { ...next, version: (prev?.version ?? 0) + 1 };
    const items = this.notifications(prev, record, change, silences);
    if (!(await this.o.store.saveAlert(record))) return false;
    if (items.length > 0) await this.o.store.enqueue(items);
    if (record.state !== prev?.state) await this.recordTransition(prev, record, ev.at);
    if (change === 'firing' || change === 'resolved') await this.publish(record, change);
    return true;
  }

  /** Decides the notifications of a step and records them on `record` (notifiedAt, notifications). */
  private notifications(prev: AlertRecord | null, record: AlertRecord, change: Change, silences: Silence[]): OutboxItem[] {
    const muted = silencedBy(silences, record.labels, this.o.clock()).length > 0;
    let status: 'firing' | 'resolved' | null = null;
    if (record.state === 'firing' && !muted) {
      const repeatDue = record.notifiedAt !== null && this.o.repeatIntervalMs > 0 && record.lastEvaluatedAt - record.notifiedAt >= this.o.repeatIntervalMs;
      if (record.notifiedAt === null || repeatDue) status = 'firing';
    } else if (change === 'resolved' && prev?.notifiedAt !== null && prev?.notifiedAt !== undefined) {
      status = 'resolved';
    }
    if (status === null) return [];
    const episode = `${record.fingerprint}.${record.startsAt ?? 0}`;
    const lastFiring = record.notifications - 1;
    if (status === 'firing') {
      record.notifiedAt = record.lastEvaluatedAt;
      record.notifications += 1;
    }
    const alert: WebhookAlert = {
      status,
      labels: record.labels,
      annotations: record.annotations,
      startsAt: rfc3339(record.startsAt),
      endsAt: status === 'resolved' ? rfc3339(record.endsAt) : rfc3339(null),
      generatorURL: record.generatorURL,
      fingerprint: record.fingerprint,
    };
    return this.outbox(
      record.tenant,
      alert,
      (receiver) => (alert.status === 'firing' ? `${episode}.firing.${record.notifications - 1}.${receiver}` : `${episode}.resolved.${receiver}`),
      (receiver) => (alert.status === 'resolved' && lastFiring >= 0 ? `${episode}.firing.${lastFiring}.${receiver}` : null),
    );
  }

  /** One outbox item per receiver of the tenant for `alert`; `key` / `after` name its idempotency key and predecessor. */
  private outbox(tenant: string, alert: WebhookAlert, key: (receiver: string) => string, after: (receiver: string) => string | null): OutboxItem[] {
    const { groupKey, groupLabels } = groupOf(alert.labels, this.o.groupBy);
    const now = this.o.clock();
    return this.o.receivers
      .filter((r) => r.tenants === null || r.tenants.includes(tenant))
      .map((r) => ({ key: key(r.name), receiver: r.name, url: r.url, tenant, groupKey, groupLabels, status: alert.status, alert, after: after(r.name), attempts: 0, dueAt: now, createdAt: now }));
  }

  /** History is best effort: the state is already saved, so a failed write is logged, not retried. */
  private async recordTransition(prev: AlertRecord | null, r: AlertRecord, at: number): Promise<void> {
    await this.recordHistory({ kind: 'transition', at, tenant: r.tenant, fingerprint: r.fingerprint, rule: r.rule, labels: r.labels, from: prev?.state ?? null, to: r.state });
  }

  private async recordHistory(entry: TransitionEntry): Promise<void> {
    if (this.o.history === undefined) return;
    try {
      await this.o.history.append([entry]);
    } catch (err) {
      this.o.logger.warn({ err, tenant: entry.tenant, fingerprint: entry.fingerprint }, 'alert history write failed; transition not recorded');
    }
  }

  private async publish(r: AlertRecord, state: 'firing' | 'resolved'): Promise<void> {
    const event: AlertEvent = {
      schemaVersion: 1,
      tenant: r.tenant,
      fingerprint: r.fingerprint,
      rule: r.rule,
      state,
      labels: r.labels,
      value: r.value,
      threshold: r.threshold,
      window: r.window,
      startsAt: r.startsAt ?? r.lastEvaluatedAt,
      endsAt: state === 'resolved' ? r.endsAt : null,
      at: r.lastEvaluatedAt,
    };
    await this.o.bus.publish(Topics.alerts, [{ key: seriesKey(r.tenant, r.labels.connector ?? ''), value: JSON.stringify(event) }]);
  }

  /**
   * Housekeeping at clock time: firing / pending alerts that stopped getting evaluations resolve
   * with reason "no data"; resolved and inactive alerts older than the retention are forgotten;
   * baseline cache entries of past buckets are dropped.
   */
  async sweep(): Promise<void> {
    const now = this.o.clock();
    for (const tenant of await this.o.store.tenants()) {
      const silences = await this.o.store.listSilences(tenant);
      for (const a of await this.o.store.listAlerts(tenant)) {
        if ((a.state === 'firing' || a.state === 'pending') && now - a.lastEvaluatedAt >= this.o.staleAfterMs) {
          const ev: Evaluation = { ...a, at: now, breach: false, annotations: { ...a.annotations, resolvedReason: 'no data' } };
          await this.commit(a, ev, { forMs: 0, keepFiringForMs: 0 }, silences);
        } else if ((a.state === 'resolved' || a.state === 'inactive') && now - (a.endsAt ?? a.lastEvaluatedAt) >= this.o.retentionMs) {
          await this.o.store.deleteAlert(tenant, a.fingerprint, a.version);
        }
      }
    }
    const current = bucketOf(now);
    for (const [k, v] of this.prepared) if (v.bucket < current - 1) this.prepared.delete(k);
  }
}

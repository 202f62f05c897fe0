import { generateHistory } from '@pulsegate/risk-scorer';
import { fetchFailure } from '../net';
import { catalogEntry, CONNECTOR, NEW_VERSION, OLD_VERSION, SPEC_NEW, SPEC_OLD } from './contoso';
import { backfill, DEFAULT_TIMELINE, liveSecond, rng, type DemoCall, type Timeline } from './scenario';
import { SpanSender, type SpanCounts } from './spans';

/** Where the demo sends traffic and what it plays. */
export interface DemoOptions {
  /** Base URL of ingest (OTLP/HTTP), e.g. http://127.0.0.1:4318. */
  ingestUrl: string;
  /** Base URL of the risk scorer, e.g. http://127.0.0.1:8083. */
  riskUrl: string;
  /** Base URL of the aggregator, e.g. http://127.0.0.1:8081 (used to wait until the backfill is counted). */
  aggregatorUrl: string;
  /** Live phase length, s. Default 120. */
  durationSeconds?: number;
  /** Minutes of baseline history recorded before the live phase, 0–60 (0 = none). Default 30. */
  backfillMinutes?: number;
  /** Receives progress lines (catalog, model, phases, assessment). Default: none. */
  log?: (line: string) => void;
  /** API key for ingest (scope ingest) and the risk scorer (catalog.write, risk.write). Default none. */
  apiKey?: string;
  /** Stops the live phase early; the demo still flushes and returns its summary. */
  signal?: AbortSignal;
  /** Seed of the traffic and of the training history. Default 42. */
  seed?: number;
  /** Override parts of the timeline (tests). */
  timeline?: Partial<Timeline>;
  /** Dashboard URL to mention in the log. */
  dashboardUrl?: string;
}

/** What the demo did. */
export interface DemoSummary {
  connector: string;
  /** Live seconds actually played. */
  liveSeconds: number;
  aborted: boolean;
  spans: SpanCounts;
  /** Calls recorded per version and outcome class. */
  calls: Record<string, { calls: number; throttled: number; failed: number }>;
  model: { version: string; auc: number | null } | null;
  assessment: { version: string; previousVersion: string | null; probability: number | null; level: string; decision: string; missing: string[] } | null;
  /** Problems met on the way (the demo carries on where it can). */
  problems: string[];
}

interface Assessment {
  version: string;
  previousVersion: string | null;
  probability: number | null;
  level: string;
  decision: string;
  missing: string[];
}

const TELEMETRY = ['priorSuccessRate', 'priorP95Ms', 'priorThrottleRate', 'priorAlertsPer1000Calls'];

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** fetch, where a failure to connect names the URL and its cause (ECONNREFUSED, ENOTFOUND, a timeout). */
async function reach(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    throw new Error(`cannot reach ${url}: ${fetchFailure(err)}`);
  }
}

async function call(method: string, url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
  const res = await reach(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text: it goes into the error message
  }
  if (res.status >= 300) {
    const message = (parsed as { error?: { message?: string } })?.error?.message ?? text.slice(0, 200);
    // `pulsegate start` protects the reading APIs with the key its banner prints.
    const hint = res.status === 401 ? ' (set PULSEGATE_API_KEY to the key `npm start` printed)' : '';
    throw new Error(`${method} ${new URL(url).pathname} answered ${res.status}: ${message}${hint}`);
  }
  return { status: res.status, body: parsed };
}

/**
 * Plays the seed guide's ContosoSales scenarios against a running Pulsegate with the real
 * OpenTelemetry SDK: registers the catalog (1.1.0 deprecated, 1.2.0 latest), trains a risk model on
 * a generated release history, records `backfillMinutes` of baseline traffic, then for
 * `durationSeconds` plays ListInvoices / CreateInvoice at 10 calls/s with a 429 surge on
 * ListInvoices (seconds 10–40), a ListInvoices latency regression on 1.2.0 (from second 20) and a
 * 1.1 → 1.2 rollout (10 % → 80 % over 90 s). Once the surge is over it asks for a risk assessment
 * of 1.2.0, retrying until the risk scorer has seen 1.1.0's telemetry.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const log = options.log ?? (() => {});
  const timeline: Timeline = { ...DEFAULT_TIMELINE, ...options.timeline };
  const duration = options.durationSeconds ?? 120;
  const backfillMinutes = options.backfillMinutes ?? 30;
  const seed = options.seed ?? 42;
  if (!Number.isInteger(duration) || duration < 0) throw new Error(`durationSeconds must be a whole number ≥ 0, got ${duration}`);
  if (!(backfillMinutes >= 0 && backfillMinutes <= 60)) throw new Error(`backfillMinutes must be between 0 and 60, got ${backfillMinutes}`);
  const headers: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  const risk = options.riskUrl.replace(/\/+$/, '');
  const aggregator = options.aggregatorUrl.replace(/\/+$/, '');
  const random = rng(seed);
  const sender = new SpanSender(options.ingestUrl, headers);
  const summary: DemoSummary = { connector: CONNECTOR, liveSeconds: 0, aborted: false, spans: sender.counts, calls: {}, model: null, assessment: null, problems: [] };
  const problem = (what: string, err: unknown): void => {
    const line = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    summary.problems.push(line);
    log(`! ${line}`);
  };
  const record = (c: DemoCall): void => {
    sender.record(c);
    const t = (summary.calls[c.version] ??= { calls: 0, throttled: 0, failed: 0 });
    t.calls++;
    if (c.status === 429) t.throttled++;
    else if (c.status >= 400) t.failed++;
  };

  try {
    const now = Date.now();
    log(`demo: ContosoSales ${OLD_VERSION} → ${NEW_VERSION} against ingest ${options.ingestUrl}`);
    await call('PUT', `${risk}/v1/catalog/connectors/${CONNECTOR}`, catalogEntry(now), headers);
    log(`catalog: ${CONNECTOR} registered (${OLD_VERSION} deprecated 35 days ago, ${NEW_VERSION} latest)`);

    try {
      const { records } = generateHistory({ records: 2000, seed });
      const trained = (await call('POST', `${risk}/v1/risk/model:train`, { records, seed }, headers)).body as { model: { version: string; metrics: { auc: number | null } } };
      summary.model = { version: trained.model.version, auc: trained.model.metrics.auc };
      log(`risk model ${trained.model.version} trained on 2000 generated releases (held-out AUC ${trained.model.metrics.auc?.toFixed(3) ?? 'n/a'})`);
    } catch (err) {
      problem('training the risk model failed', err);
    }

    if (backfillMinutes > 0) {
      const history = backfill(backfillMinutes, now, random);
      for (const c of history) record(c);
      await sender.flush();
      log(`backfill: ${history.length} calls of baseline traffic over the last ${backfillMinutes} minutes sent as spans`);
      await waitForCalls(aggregator, headers, history.length, options.signal).catch((err: unknown) => problem('the aggregator did not count the backfill', err));
    }
    if (options.dashboardUrl !== undefined) log(`dashboard: ${options.dashboardUrl}`);

    const start = Date.now();
    let assessing: Promise<void> | null = null;
    // A function, so TypeScript does not narrow the flag across the await.
    const aborted = (): boolean => options.signal?.aborted === true;
    for (let s = 0; s < duration; s++) {
      await sleep(start + (s + 1) * 1000 - Date.now(), options.signal);
      if (aborted()) {
        summary.aborted = true;
        break;
      }
      // Calls of second s end inside it, so every span is in the past when recorded.
      for (const c of liveSecond(timeline, s, start, random)) record(c);
      summary.liveSeconds = s + 1;
      if (s === timeline.surge.fromS) log(`t=${s}s: 429 surge on ListInvoices (${Math.round(timeline.surge.share * 100)} % throttled until t=${timeline.surge.toS}s)`);
      if (s === timeline.surge.toS) log(`t=${s}s: surge over`);
      if (s === timeline.regression.fromS) log(`t=${s}s: ListInvoices on ${NEW_VERSION} slows down (median × ${timeline.regression.factor})`);
      if (s % 15 === 0) log(`t=${s}s: ${sender.counts.exported} spans exported${sender.error !== null ? `, last export error: ${sender.error}` : ''}`);
      if (s === timeline.surge.toS + 5 && assessing === null) {
        assessing = assess(risk, headers, log, options.signal).then(
          (a) => {
            summary.assessment = a;
          },
          (err: unknown) => problem('risk assessment failed', err),
        );
      }
    }
    await sender.flush();
    if (assessing === null && summary.aborted === false) {
      assessing = assess(risk, headers, log, options.signal).then(
        (a) => {
          summary.assessment = a;
        },
        (err: unknown) => problem('risk assessment failed', err),
      );
    }
    if (assessing !== null) await assessing;
  } catch (err) {
    problem('demo stopped', err);
  } finally {
    await sender.shutdown().catch((err: unknown) => problem('flushing spans failed', err));
  }
  if (summary.spans.failed > 0) summary.problems.push(`${summary.spans.failed} spans could not be sent to ${options.ingestUrl.replace(/\/+$/, '')}/v1/traces: ${sender.error ?? 'export failed'}`);
  log(`demo done: ${summary.spans.exported} spans exported, ${summary.spans.failed} failed, ${summary.liveSeconds} live seconds`);
  return summary;
}

/** Polls the aggregator until it counts at least `expected` ContosoSales calls in the last hour (bounded: 60 s). */
async function waitForCalls(aggregator: string, headers: Record<string, string>, expected: number, signal?: AbortSignal): Promise<void> {
  for (let i = 0; i < 120 && signal?.aborted !== true; i++) {
    const res = await reach(`${aggregator}/v1/connectors/${CONNECTOR}/metrics?window=1h`, { headers, signal: AbortSignal.timeout(10_000) });
    if (res.status === 200) {
      const body = (await res.json()) as { calls: number };
      if (body.calls >= expected) return;
    } else await res.body?.cancel();
    await sleep(500, signal);
  }
  throw new Error(`fewer than ${expected} calls counted after 60 s`);
}

/**
 * Asks whether 1.2.0 may be promoted: spec features from the risk scorer's own comparison of the two
 * OpenAPI documents, pipeline features (lint warnings, prior incidents) as a CI job would pass them,
 * telemetry of 1.1.0 from the pipeline. Retries (bounded: 60 s) while that telemetry is missing.
 */
async function assess(risk: string, headers: Record<string, string>, log: (line: string) => void, signal?: AbortSignal): Promise<Assessment> {
  const spec = (await call('POST', `${risk}/v1/risk/features`, { oldSpec: SPEC_OLD, newSpec: SPEC_NEW }, headers)).body as { features: Record<string, number> };
  const features = { ...spec.features, lintWarnings: 2, priorIncidentRate: 0.5 };
  let last: Assessment | null = null;
  for (let i = 0; i < 12; i++) {
    last = (await call('POST', `${risk}/v1/risk/assessments`, { connector: CONNECTOR, version: NEW_VERSION, previousVersion: OLD_VERSION, features }, headers)).body as Assessment;
    if (!last.missing.some((m) => TELEMETRY.includes(m)) || signal?.aborted === true) break;
    await sleep(5_000, signal);
  }
  const a = last!;
  log(
    `risk assessment ${CONNECTOR} ${a.version} (previous ${a.previousVersion ?? 'none'}): P(incident) ${a.probability?.toFixed(3) ?? 'n/a'}, level ${a.level}, decision ${a.decision}` +
      (a.missing.length > 0 ? `; missing ${a.missing.join(', ')}` : ''),
  );
  return { version: a.version, previousVersion: a.previousVersion, probability: a.probability, level: a.level, decision: a.decision, missing: a.missing };
}

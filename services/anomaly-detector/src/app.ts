import { randomUUID } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { authenticate, badRequest, correlation, errorHandler, HttpError, notFound, notFoundHandler, principalOf, type KeyRing } from '@pulsegate/http-kit';
import type { Logger } from '@pulsegate/logging';
import { metricsHandler, type Registry } from '@pulsegate/telemetry';
import { z } from 'zod';
import type { AlertRecord } from './lifecycle/alert';
import { FINGERPRINT_PATTERN } from './lifecycle/fingerprint';
import type { EffectiveRule } from './rules/defaults';
import { formatDuration, parseDuration } from './rules/duration';
import type { RuleBook, Scope } from './rules/rule-book';
import { MAX_RULES_BYTES, parseRulesText, type RulesConfig } from './rules/rules-file';
import { compileMatcherRegex, silencedBy, silenceStatus, type Silence } from './silences/matchers';
import type { DetectorStore } from './store/types';
import type { SloEngine, SloStatus } from './slo/engine';
import type { AlertHistoryStore, HistoryEntry } from './history/store';

/** Everything the HTTP API reads; the app never listens (main.ts / the launcher do). */
export interface AppDeps {
  store: DetectorStore;
  rules: RuleBook;
  rulesConfig: RulesConfig;
  keyRing: KeyRing;
  logger: Logger;
  clock: () => number;
  isReady: () => boolean;
  /** SLO status for GET /v1/slos; omitted = the SLO routes answer 404. */
  slo?: SloEngine;
  /** Alert history for GET /v1/alerts/history; omitted = that route answers 404. */
  history?: AlertHistoryStore;
  /** Served at GET /metrics (admin scope when keys are configured); omitted = no /metrics route. */
  metrics?: Registry;
}

/** Longest silence accepted: 90 days. */
export const MAX_SILENCE_MS = 90 * 86_400_000;
/** Most silences one tenant may hold (expired ones included until pruned). */
export const MAX_SILENCES_PER_TENANT = 1_000;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function alertView(a: AlertRecord, silences: Silence[], now: number) {
  return {
    fingerprint: a.fingerprint,
    state: a.state,
    rule: a.rule,
    labels: a.labels,
    annotations: a.annotations,
    value: a.value,
    threshold: a.threshold,
    window: a.window,
    activeAt: iso(a.activeAt),
    startsAt: iso(a.startsAt),
    endsAt: iso(a.endsAt),
    lastEvaluatedAt: iso(a.lastEvaluatedAt),
    generatorURL: a.generatorURL,
    silencedBy: a.state === 'firing' || a.state === 'pending' ? silencedBy(silences, a.labels, now) : [],
  };
}

function historyView(e: HistoryEntry) {
  const { tenant: _tenant, at, ...rest } = e;
  return { ...rest, at: iso(at) };
}

function silenceView(s: Silence, now: number) {
  return { id: s.id, matchers: s.matchers, startsAt: iso(s.startsAt), endsAt: iso(s.endsAt), createdBy: s.createdBy, comment: s.comment, status: silenceStatus(s, now) };
}

function ruleView(r: EffectiveRule) {
  return {
    name: r.name,
    type: r.type,
    subject: r.subject,
    metric: r.metric,
    window: r.window,
    op: r.op,
    threshold: r.threshold,
    clearThreshold: r.clearThreshold,
    minCalls: r.minCalls,
    for: formatDuration(r.forMs),
    keepFiringFor: formatDuration(r.keepFiringForMs),
    minAge: formatDuration(r.minAgeMs),
    sensitivity: r.type === 'anomaly' ? r.sensitivity : null,
    warmupPoints: r.type === 'anomaly' ? r.warmupPoints : null,
    minDelta: r.type === 'anomaly' ? r.minDelta : null,
    severity: r.severity,
    disabled: r.disabled,
    summary: r.summary,
  };
}

/** Receiver URLs often carry tokens: only scheme, host and path are shown. */
function redactUrl(u: string): string {
  const url = new URL(u);
  return `${url.protocol}//${url.host}${url.pathname}`;
}

const LABEL_VALUE = z.string().min(1).max(256);
const alertsQuery = z.strictObject({
  state: z.enum(['inactive', 'pending', 'firing', 'resolved']).optional(),
  connector: LABEL_VALUE.optional(),
});
const historyQuery = z.strictObject({
  connector: LABEL_VALUE.optional(),
  from: z.string().max(64).optional(),
  to: z.string().max(64).optional(),
  limit: z.string().regex(/^[1-9]\d{0,3}$|^10000$/, 'limit must be an integer from 1 to 10000').optional(),
});
const rulesQuery = z.strictObject({
  connector: LABEL_VALUE.optional(),
  action: LABEL_VALUE.optional(),
  version: LABEL_VALUE.optional(),
  kind: z.enum(['read', 'write']).optional(),
});
const slosQuery = z.strictObject({ connector: LABEL_VALUE.optional(), action: LABEL_VALUE.optional() });
const sloConnectorQuery = z.strictObject({ action: LABEL_VALUE.optional() });
const silencesQuery = z.strictObject({ status: z.enum(['pending', 'active', 'expired']).optional() });

const matcherSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a label name'),
  op: z.enum(['=', '!=', '=~', '!~']),
  value: z.string().max(256),
});
const silenceBody = z.strictObject({
  matchers: z.array(matcherSchema).min(1).max(20),
  startsAt: z.string().max(64).optional(),
  endsAt: z.string().max(64).optional(),
  duration: z.string().max(16).optional(),
  createdBy: z.string().min(1).max(128),
  comment: z.string().max(1000).default(''),
});

function parseQuery<T>(schema: z.ZodType<T>, req: Request): T {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(req.query)) {
    if (typeof v !== 'string') throw badRequest(`query parameter ${k} must be given once`);
    raw[k] = v;
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw badRequest(describe(r.error), r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })));
  return r.data;
}

function describe(err: z.ZodError): string {
  const i = err.issues[0]!;
  if (i.code === 'unrecognized_keys') return `unknown field(s): ${i.keys.join(', ')}`;
  return `${i.path.map(String).join('.') || 'body'}: ${i.message}`;
}

function parseTime(text: string, field: string): number {
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(ms)) throw badRequest(`${field} must be an RFC 3339 date-time`);
  return ms;
}

type Handler = (req: Request, res: Response) => Promise<void>;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction) => {
  h(req, res).catch(next);
};

/** The anomaly detector's HTTP API (see openapi.yaml). */
export function createApp(deps: AppDeps): Express {
  const { store, keyRing: ring } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(correlation());

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const ready = deps.isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
  });

  app.get(
    '/v1/alerts',
    authenticate(ring, 'alerts.read'),
    wrap(async (req, res) => {
      const q = parseQuery(alertsQuery, req);
      const tenant = principalOf(req).tenant;
      const now = deps.clock();
      const [alerts, silences] = await Promise.all([store.listAlerts(tenant), store.listSilences(tenant)]);
      const out = alerts
        .filter((a) => (q.state === undefined ? a.state !== 'inactive' : a.state === q.state))
        .filter((a) => q.connector === undefined || a.labels.connector === q.connector)
        .sort((a, b) => (b.startsAt ?? b.activeAt ?? 0) - (a.startsAt ?? a.activeAt ?? 0) || a.fingerprint.localeCompare(b.fingerprint))
        .map((a) => alertView(a, silences, now));
      res.json({ alerts: out });
    }),
  );

  app.get(
    '/v1/alerts/history',
    authenticate(ring, 'alerts.read'),
    wrap(async (req, res) => {
      if (deps.history === undefined) throw notFound('alert history is not enabled');
      const q = parseQuery(historyQuery, req);
      const now = deps.clock();
      const to = q.to === undefined ? now : parseTime(q.to, 'to');
      const from = q.from === undefined ? to - 86_400_000 : parseTime(q.from, 'from');
      if (from > to) throw badRequest('from must not be after to');
      const limit = q.limit === undefined ? 1_000 : Number(q.limit);
      const entries = await deps.history.query(principalOf(req).tenant, { from, to, connector: q.connector, limit });
      res.json({ from: iso(from), to: iso(to), entries: entries.map(historyView) });
    }),
  );

  app.get(
    '/v1/alerts/:fingerprint',
    authenticate(ring, 'alerts.read'),
    wrap(async (req, res) => {
      const fp = String(req.params.fingerprint);
      if (!FINGERPRINT_PATTERN.test(fp)) throw badRequest('fingerprint must be 16 lower-case hex characters');
      const tenant = principalOf(req).tenant;
      const alert = await store.getAlert(tenant, fp);
      if (alert === null) throw notFound(`no alert ${fp}`);
      res.json(alertView(alert, await store.listSilences(tenant), deps.clock()));
    }),
  );

  app.post(
    '/v1/silences',
    authenticate(ring, 'alerts.write'),
    (req: Request, _res: Response, next: NextFunction) => {
      next(req.is('application/json') ? undefined : new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the silence as application/json'));
    },
    express.json({ limit: '64kb' }),
    wrap(async (req, res) => {
      const r = silenceBody.safeParse(req.body);
      if (!r.success) throw badRequest(describe(r.error), r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })));
      const b = r.data;
      for (const [i, m] of b.matchers.entries()) {
        if (m.op === '=~' || m.op === '!~') {
          const c = compileMatcherRegex(m.value);
          if (typeof c === 'string') throw badRequest(`matchers.${i}.value: ${c}`);
        }
      }
      const probe = Object.fromEntries(b.matchers.map((m) => [m.name, '']));
      if (b.matchers.every((m) => silencedBy([{ id: '', tenant: '', matchers: [m], startsAt: 0, endsAt: Infinity, createdBy: '', comment: '', createdAt: 0 }], probe, 1).length > 0)) {
        throw badRequest('at least one matcher must not match the empty string (a silence must not mute everything)');
      }
      const now = deps.clock();
      const startsAt = b.startsAt === undefined ? now : parseTime(b.startsAt, 'startsAt');
      let endsAt: number;
      if (b.endsAt !== undefined && b.duration !== undefined) throw badRequest('give endsAt or duration, not both');
      if (b.endsAt !== undefined) endsAt = parseTime(b.endsAt, 'endsAt');
      else if (b.duration !== undefined) {
        const d = parseDuration(b.duration);
        if (d === null || d === 0) throw badRequest('duration must be a positive duration like "2h"');
        endsAt = startsAt + d;
      } else throw badRequest('endsAt or duration is required');
      if (endsAt <= startsAt) throw badRequest('endsAt must be after startsAt');
      if (endsAt <= now) throw badRequest('endsAt must be in the future');
      if (endsAt - startsAt > MAX_SILENCE_MS) throw badRequest('a silence may last at most 90 days');
      const tenant = principalOf(req).tenant;
      const existing = await store.listSilences(tenant);
      if (existing.filter((s) => silenceStatus(s, now) !== 'expired').length >= MAX_SILENCES_PER_TENANT) {
        throw new HttpError(429, 'TOO_MANY_SILENCES', `at most ${MAX_SILENCES_PER_TENANT} silences per tenant`);
      }
      const silence: Silence = { id: randomUUID(), tenant, matchers: b.matchers, startsAt, endsAt, createdBy: b.createdBy, comment: b.comment, createdAt: now };
      await store.putSilence(silence);
      res.status(201).json(silenceView(silence, now));
    }),
  );

  app.get(
    '/v1/silences',
    authenticate(ring, 'alerts.read'),
    wrap(async (req, res) => {
      const q = parseQuery(silencesQuery, req);
      const now = deps.clock();
      const all = await store.listSilences(principalOf(req).tenant);
      const out = all
        .filter((s) => q.status === undefined || silenceStatus(s, now) === q.status)
        .sort((a, b) => b.createdAt - a.createdAt)
        .map((s) => silenceView(s, now));
      res.json({ silences: out });
    }),
  );

  app.delete(
    '/v1/silences/:id',
    authenticate(ring, 'alerts.write'),
    wrap(async (req, res) => {
      const id = String(req.params.id);
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw badRequest('silence id must be a UUID');
      const tenant = principalOf(req).tenant;
      const s = await store.getSilence(tenant, id);
      if (s === null) throw notFound(`no silence ${id}`);
      const now = deps.clock();
      // Expiring keeps the record (visible as expired), as Alertmanager does.
      const expired: Silence = { ...s, endsAt: Math.min(s.endsAt, now), startsAt: Math.min(s.startsAt, now) };
      await store.putSilence(expired);
      res.json(silenceView(expired, now));
    }),
  );

  app.get('/v1/rules', authenticate(ring, 'alerts.read'), (req, res) => {
    const q = parseQuery(rulesQuery, req);
    const tenant = principalOf(req).tenant;
    const scope: Scope = { tenant, ...q };
    res.json({
      scope,
      rules: deps.rules.resolveAll(scope).map(ruleView),
      overrides: deps.rules.overridesFor(tenant).map((o) => ({ rule: o.rule, match: o.match, line: o.line })),
      receivers: deps.rulesConfig.receivers.filter((r) => r.tenants === null || r.tenants.includes(tenant)).map((r) => ({ name: r.name, url: redactUrl(r.url) })),
      notify: { groupBy: deps.rulesConfig.groupBy, repeatInterval: formatDuration(deps.rulesConfig.repeatIntervalMs) },
    });
  });

  // A literal ":" in the path: a regular expression route, since ":" starts a parameter.
  app.post(
    /^\/v1\/rules:validate$/,
    authenticate(ring, 'alerts.read'),
    express.text({ limit: MAX_RULES_BYTES, type: ['text/*', 'application/yaml', 'application/x-yaml', 'application/json'] }),
    (req, res) => {
      if (typeof req.body !== 'string') throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the rules file as application/yaml, application/json or text/plain');
      if (req.body.trim() === '') throw badRequest('the rules file is empty');
      const result = parseRulesText(req.body);
      if (result.ok) {
        res.json({ valid: true, problems: [], overrides: result.config.overrides.length, receivers: result.config.receivers.length });
      } else {
        res.json({ valid: false, problems: result.problems, overrides: 0, receivers: 0 });
      }
    },
  );

  const slos = async (tenant: string, connector: string | undefined, action: string | undefined): Promise<SloStatus[]> => {
    if (deps.slo === undefined) throw notFound('SLOs are not enabled');
    return (await deps.slo.status(tenant, connector)).filter((s) => action === undefined || s.action === action);
  };
  app.get(
    '/v1/slos',
    authenticate(ring, 'alerts.read'),
    wrap(async (req, res) => {
      const q = parseQuery(slosQuery, req);
      res.json({ at: new Date(deps.clock()).toISOString(), slos: await slos(principalOf(req).tenant, q.connector, q.action) });
    }),
  );
  app.get(
    '/v1/slos/:connector',
    authenticate(ring, 'alerts.read'),
    wrap(async (req, res) => {
      const q = parseQuery(sloConnectorQuery, req);
      const connector = String(req.params.connector);
      if (connector.length > 256) throw badRequest('connector must be at most 256 characters');
      const out = await slos(principalOf(req).tenant, connector, q.action);
      if (out.length === 0) throw notFound(`no SLO data for connector ${connector}`);
      res.json({ at: new Date(deps.clock()).toISOString(), slos: out });
    }),
  );

  if (deps.metrics !== undefined) app.get('/metrics', authenticate(ring, 'admin'), metricsHandler(deps.metrics));
  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return app;
}

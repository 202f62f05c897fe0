import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Bus } from '@pulsegate/bus';
import { seriesKey, Topics, type CatalogEvent } from '@pulsegate/events';
import { authenticate, badRequest, correlation, errorBody, correlationIdOf, errorHandler, HttpError, notFound, notFoundHandler, presentedKey, principalOf, type KeyRing } from '@pulsegate/http-kit';
import type { Logger } from '@pulsegate/logging';
import { metricsHandler, type Registry } from '@pulsegate/telemetry';
import { runAssessment } from './assess/assessor';
import { runGate, type GateRequest, type LiveTelemetry } from './gate/run';
import { canaryWindowOf, WindowFields } from './gate/window';
import { fetchVersionPair, type AggregatorClientOptions } from './telemetry/aggregator';
import type { LevelCutoffs } from './assess/levels';
import { ConnectorBody, connectorName, semverString, VersionBody, type ConnectorEntry } from './catalog/types';
import { FEATURE_NAMES, isFeatureName, type FeatureName, type FeatureValues } from './model/features';
import { MAX_TRAINING_RECORDS, trainModel, TrainingError, type TrainingRecord } from './model/logistic';
import type { ModelStore } from './model/store';
import { countAssessment, createRiskCounters, type RiskCounters } from './metrics';
import { computeSpecFeatures, SpecError } from './spec/features';
import { checkOverrides, type RuleOverrides } from './spec/rules';
import type { Decision, GateDecision, RiskLevel, RiskStore } from './store/types';
import { parseWith } from './validation';

export interface AppDeps {
  store: RiskStore;
  models: ModelStore;
  bus: Bus;
  logger: Logger;
  keys: KeyRing;
  cutoffs: LevelCutoffs;
  /** Gradient steps per training run (see trainModel). */
  trainSteps: number;
  isReady: () => boolean;
  /** Clock, epoch ms. Default Date.now. */
  now?: () => number;
  /** Totals counted by the API (assessments, trainings); default a fresh set. */
  counters?: RiskCounters;
  /** Served at GET /metrics (admin scope when keys are configured); omitted = no /metrics route. */
  metrics?: Registry;
  /** Spec rule severity overrides per tenant (RISK_RULE_OVERRIDES); default none. */
  ruleOverrides?: Record<string, RuleOverrides>;
  /** Where the gate reads both versions' live telemetry (RISK_AGGREGATOR_URL); omitted = stored snapshots, rates only. */
  aggregator?: AggregatorClientOptions;
}

/** A SpecError as an HTTP error: 422 SPEC_TOO_COMPLEX over a budget, else 400. */
export function specHttpError(err: SpecError): HttpError {
  return err.tooComplex ? new HttpError(422, 'SPEC_TOO_COMPLEX', err.message) : badRequest(err.message);
}

/** Body size limits: most bodies are small; spec pairs and training sets are not. */
const SMALL_BODY = '1mb';
const SPEC_BODY = '12mb';
const TRAIN_BODY = '64mb';

const FeatureMap = z.record(z.string().max(64), z.number()).refine((o) => Object.keys(o).length <= 64, 'at most 64 features');

const AssessmentBody = z.strictObject({
  connector: connectorName,
  version: semverString,
  previousVersion: semverString.optional(),
  features: FeatureMap.optional(),
});

const SpecInput = z.union([z.string(), z.record(z.string(), z.unknown())]);
const Overrides = z.record(z.string().max(128), z.enum(['error', 'warning', 'info', 'off'])).refine((o) => Object.keys(o).length <= 256, 'at most 256 overrides');

const SpecPair = z.strictObject({
  oldSpec: SpecInput,
  newSpec: SpecInput,
  overrides: Overrides.optional(),
});

const Telemetry = z.strictObject({
  calls: z.number().min(0),
  errors: z.number().min(0),
  throttled: z.number().min(0),
  latency: z
    .record(z.string().regex(/^(z|-?\d{1,5})$/, 'sketch bucket keys are "z" or a bucket index'), z.number().min(0))
    .refine((o) => Object.keys(o).length <= 4096, 'at most 4096 buckets')
    .optional(),
});
const ActionsTelemetry = z.record(z.string().min(1).max(256), Telemetry).refine((o) => Object.keys(o).length <= 500, 'at most 500 actions');

const GateBody = z.strictObject({
  ...WindowFields.shape,
  connector: connectorName,
  version: semverString,
  previousVersion: semverString.optional(),
  oldSpec: SpecInput.optional(),
  newSpec: SpecInput.optional(),
  overrides: Overrides.optional(),
  features: FeatureMap.optional(),
  canary: z
    .strictObject({
      baseline: ActionsTelemetry,
      candidate: ActionsTelemetry,
      options: z
        .strictObject({ minCalls: z.number().int().min(1).optional(), alpha: z.number().gt(0).lt(0.5).optional(), minP95Increase: z.number().min(0).optional(), minRateIncrease: z.number().min(0).max(1).optional() })
        .optional(),
    })
    .optional(),
});

/** Flagger's webhook payload (https://docs.flagger.app/usage/webhooks); metadata carries the question. */
const FlaggerBody = z.object({
  name: z.string().max(253),
  namespace: z.string().max(253),
  phase: z.string().max(64).optional(),
  checksum: z.string().max(256).optional(),
  metadata: z.object({ ...WindowFields.shape, connector: connectorName, version: semverString, previousVersion: semverString.optional() }).passthrough(),
});

const TrainBody = z.strictObject({
  records: z.array(z.unknown()).max(MAX_TRAINING_RECORDS).optional(),
  features: z.array(z.string()).min(1).max(FEATURE_NAMES.length).optional(),
  testShare: z.number().gt(0).lt(1).optional(),
  seed: z.number().int().optional(),
  includeReleaseHistory: z.boolean().optional(),
});

const RollbackBody = z.strictObject({ modelVersion: z.string().min(1).max(128).optional() });

function knownFeatures(values: Record<string, number> | undefined): FeatureValues {
  const out: FeatureValues = {};
  for (const [k, v] of Object.entries(values ?? {})) {
    if (!isFeatureName(k)) throw badRequest(`features.${k}: unknown feature; known: ${FEATURE_NAMES.join(', ')}`);
    out[k] = v;
  }
  return out;
}

function pathParam(req: Request, name: string, schema: z.ZodType<string>): string {
  const r = schema.safeParse(req.params[name]);
  if (!r.success) throw badRequest(`${name}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

type Handler = (req: Request, res: Response) => Promise<void>;
/** Express 5 forwards rejected promises itself; this keeps handler types simple. */
const route = (h: Handler) => (req: Request, res: Response, next: NextFunction) => h(req, res).catch(next);

/** The risk scorer's HTTP API (never listens; see main.ts). */
export function createApp(deps: AppDeps): Express {
  const now = deps.now ?? Date.now;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(correlation());
  const json = (limit: string) => express.json({ limit, strict: true });
  const { store, models, bus, keys } = deps;
  const counters = deps.counters ?? createRiskCounters();

  const publishCatalog = async (tenant: string, entry: ConnectorEntry): Promise<void> => {
    const event: CatalogEvent = {
      schemaVersion: 1,
      tenant,
      connector: entry.connector,
      versions: entry.versions.map((v) => ({ version: v.version, releasedAt: v.releasedAt, deprecatedAt: v.deprecatedAt, sunsetAt: v.sunsetAt })),
      at: now(),
    };
    try {
      await bus.publish(Topics.catalog, [{ key: seriesKey(tenant, entry.connector), value: JSON.stringify(event) }]);
    } catch (err) {
      deps.logger.warn({ err }, 'catalog event not published');
      throw new HttpError(503, 'UNAVAILABLE', 'the change is stored but could not be published; repeat the request', { retryAfterSeconds: 5 });
    }
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (req, res) => {
    if (deps.isReady()) res.json({ status: 'ready' });
    else res.status(503).json(errorBody('NOT_READY', 'risk scorer is starting or stopping', correlationIdOf(req)));
  });
  if (deps.metrics !== undefined) app.get('/metrics', authenticate(keys, 'admin'), metricsHandler(deps.metrics));

  // Catalog
  app.get(
    '/v1/catalog/connectors',
    authenticate(keys, 'catalog.read'),
    route(async (req, res) => {
      res.json({ connectors: await store.listConnectors(principalOf(req).tenant) });
    }),
  );
  app.get(
    '/v1/catalog/connectors/:connector',
    authenticate(keys, 'catalog.read'),
    route(async (req, res) => {
      const connector = pathParam(req, 'connector', connectorName);
      const entry = await store.getConnector(principalOf(req).tenant, connector);
      if (entry === null) throw notFound(`connector ${connector} is not in the catalog`);
      res.json(entry);
    }),
  );
  app.put(
    '/v1/catalog/connectors/:connector',
    authenticate(keys, 'catalog.write'),
    json(SMALL_BODY),
    route(async (req, res) => {
      const connector = pathParam(req, 'connector', connectorName);
      const body = parseWith(ConnectorBody, req.body);
      const seen = new Set<string>();
      body.versions.forEach((v, i) => {
        if (seen.has(v.version)) throw badRequest(`versions.${i}.version: duplicate version ${v.version}`);
        seen.add(v.version);
      });
      const tenant = principalOf(req).tenant;
      const existed = (await store.getConnector(tenant, connector)) !== null;
      const entry: ConnectorEntry = { connector, ...body, scopes: [...new Set(body.scopes)].sort(), updatedAt: now() };
      await store.putConnector(tenant, entry);
      const saved = (await store.getConnector(tenant, connector))!;
      await publishCatalog(tenant, saved);
      res.status(existed ? 200 : 201).json(saved);
    }),
  );
  app.put(
    '/v1/catalog/connectors/:connector/versions/:version',
    authenticate(keys, 'catalog.write'),
    json(SMALL_BODY),
    route(async (req, res) => {
      const connector = pathParam(req, 'connector', connectorName);
      const version = pathParam(req, 'version', semverString);
      const body = parseWith(VersionBody, req.body ?? {});
      const tenant = principalOf(req).tenant;
      const saved = await store.putVersion(tenant, connector, { version, ...body }, now());
      if (saved === null) throw notFound(`connector ${connector} is not in the catalog; PUT /v1/catalog/connectors/${connector} first`);
      await publishCatalog(tenant, saved);
      res.json(saved);
    }),
  );

  // Features and assessments
  app.post(
    '/v1/risk/features',
    authenticate(keys, 'risk.read'),
    json(SPEC_BODY),
    route(async (req, res) => {
      const body = parseWith(SpecPair, req.body);
      const overrides = { ...deps.ruleOverrides?.[principalOf(req).tenant], ...body.overrides };
      try {
        checkOverrides(overrides, 'overrides');
      } catch (err) {
        throw badRequest((err as Error).message);
      }
      try {
        res.json(await computeSpecFeatures(body.oldSpec, body.newSpec, { overrides }));
      } catch (err) {
        if (err instanceof SpecError) throw specHttpError(err);
        throw err;
      }
    }),
  );
  app.post(
    '/v1/risk/assessments',
    authenticate(keys, 'risk.write'),
    json(SMALL_BODY),
    route(async (req, res) => {
      const body = parseWith(AssessmentBody, req.body);
      const principal = principalOf(req);
      const entry = await store.getConnector(principal.tenant, body.connector);
      if (entry === null) throw notFound(`connector ${body.connector} is not in the catalog; register it before asking for promotion`);
      const features = knownFeatures(body.features);
      const assessment = await runAssessment(
        { store, models, bus, logger: deps.logger, cutoffs: deps.cutoffs, now },
        { tenant: principal.tenant, keyName: principal.keyName },
        entry,
        { connector: body.connector, version: body.version, previousVersion: body.previousVersion, features },
      ).catch((err: unknown) => {
        deps.logger.error({ err }, 'assessment failed');
        throw new HttpError(503, 'UNAVAILABLE', 'the assessment could not be stored or published; repeat the request', { retryAfterSeconds: 5 });
      });
      countAssessment(counters, assessment.decision, assessment.level);
      res.status(201).json(assessment);
    }),
  );
  app.get(
    '/v1/risk/assessments/:connector/:version',
    authenticate(keys, 'risk.read'),
    route(async (req, res) => {
      const connector = pathParam(req, 'connector', connectorName);
      const version = pathParam(req, 'version', semverString);
      const a = await store.getAssessment(principalOf(req).tenant, connector, version);
      if (a === null) throw notFound(`no assessment for ${connector} ${version}`);
      res.json(a);
    }),
  );

  // Release gate: one decision from every check, usable by pipelines, Argo Rollouts and Flagger.
  const gate = async (req: Request, body: GateRequest, via: string): Promise<GateDecision> => {
    const principal = principalOf(req);
    const entry = await store.getConnector(principal.tenant, body.connector);
    if (entry === null) throw notFound(`connector ${body.connector} is not in the catalog; register it before asking for promotion`);
    const overrides = { ...deps.ruleOverrides?.[principal.tenant], ...body.overrides };
    try {
      checkOverrides(overrides, 'overrides');
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    // Live telemetry is read with the caller's own key: the aggregator answers for the caller's tenant only.
    const aggregator = deps.aggregator;
    const live: LiveTelemetry | undefined = aggregator === undefined ? undefined : (c, base, cand, w) => fetchVersionPair(aggregator, presentedKey(req), c, base, cand, w);
    const decision = await runGate(
      { store, models, bus, logger: deps.logger, cutoffs: deps.cutoffs, now },
      { tenant: principal.tenant, keyName: principal.keyName, via },
      entry,
      { ...body, features: knownFeatures(body.features), overrides },
      live,
    ).catch((err: unknown) => {
      if (err instanceof SpecError) throw specHttpError(err);
      if (err instanceof HttpError) throw err;
      deps.logger.error({ err }, 'gate decision failed');
      throw new HttpError(503, 'UNAVAILABLE', 'the decision could not be stored or published; repeat the request', { retryAfterSeconds: 5 });
    });
    countAssessment(counters, (decision.details.assessment as { decision: Decision }).decision, (decision.details.assessment as { level: RiskLevel }).level);
    return decision;
  };
  app.post(
    '/v1/risk/gate',
    authenticate(keys, 'risk.write'),
    json(SPEC_BODY),
    route(async (req, res) => {
      const { window, from, to, ...body } = parseWith(GateBody, req.body);
      const canaryWindow = canaryWindowOf({ window, from, to }, req.query, now());
      if (body.canary !== undefined && canaryWindow !== undefined) throw badRequest('canary brings its own telemetry; window or from/to choose live telemetry, not both');
      res.json(await gate(req, { ...body, window: canaryWindow } as GateRequest, 'api'));
    }),
  );
  // Flagger sends no custom headers; the key may come in metadata.apiKey (see README).
  app.post(
    '/v1/risk/flagger/confirm-promotion',
    json(SMALL_BODY),
    (req, _res, next) => {
      const key = (req.body as { metadata?: { apiKey?: unknown } } | undefined)?.metadata?.apiKey;
      if (typeof key === 'string' && req.headers.authorization === undefined && req.headers['x-api-key'] === undefined) req.headers['x-api-key'] = key;
      next();
    },
    authenticate(keys, 'risk.write'),
    route(async (req, res) => {
      const body = parseWith(FlaggerBody, req.body);
      const { connector, version, previousVersion, window, from, to } = body.metadata;
      const canaryWindow = canaryWindowOf({ window, from, to }, req.query, now());
      const decision = await gate(req, { connector, version, previousVersion, window: canaryWindow }, `flagger ${body.namespace}/${body.name}`);
      // Flagger promotes on 2xx only and retries later on anything else.
      if (decision.outcome === 'promote') res.json(decision);
      else throw new HttpError(409, decision.outcome === 'reject' ? 'PROMOTION_REJECTED' : 'PROMOTION_HELD', decision.reasons.join(' | '), { details: { outcome: decision.outcome, checks: decision.checks } });
    }),
  );
  app.get(
    '/v1/risk/decisions/:connector',
    authenticate(keys, 'risk.read'),
    route(async (req, res) => {
      const connector = pathParam(req, 'connector', connectorName);
      const raw = req.query.limit;
      const limit = raw === undefined ? 50 : Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badRequest('limit: must be an integer 1-1000');
      res.json({ decisions: await store.decisions(principalOf(req).tenant, connector, limit) });
    }),
  );

  // Model
  app.post(
    '/v1/risk/model\\:train',
    authenticate(keys, 'risk.write'),
    json(TRAIN_BODY),
    route(async (req, res) => {
      const body = parseWith(TrainBody, req.body);
      const tenant = principalOf(req).tenant;
      const fromRequest = body.records ?? [];
      const useHistory = body.includeReleaseHistory ?? body.records === undefined;
      const history: TrainingRecord[] = useHistory ? (await store.releases(tenant)).map((r) => ({ features: r.features, incident: r.incident })) : [];
      const records = [...fromRequest, ...history];
      if (records.length === 0) throw badRequest('records: no training records given and no release history received');
      if (records.length > MAX_TRAINING_RECORDS) throw badRequest(`records: at most ${MAX_TRAINING_RECORDS} records (request plus release history)`);
      let model;
      try {
        model = trainModel(records, { features: body.features as FeatureName[] | undefined, testShare: body.testShare, seed: body.seed, numSteps: deps.trainSteps, now });
      } catch (err) {
        if (err instanceof TrainingError) {
          counters.trainings.rejected = (counters.trainings.rejected ?? 0) + 1;
          throw badRequest(err.message);
        }
        throw err;
      }
      await models.save(tenant, model);
      counters.trainings.trained = (counters.trainings.trained ?? 0) + 1;
      deps.logger.info({ audit: { action: 'risk.model.train', who: { tenant, keyName: principalOf(req).keyName }, model: model.version, metrics: model.metrics } }, 'risk model trained');
      res.status(201).json({ model, records: { fromRequest: fromRequest.length, fromReleaseHistory: history.length } });
    }),
  );
  app.get(
    '/v1/risk/models',
    authenticate(keys, 'risk.read'),
    route(async (req, res) => {
      res.json({ models: await models.list(principalOf(req).tenant) });
    }),
  );
  app.post(
    '/v1/risk/models\\:rollback',
    authenticate(keys, 'risk.write'),
    json(SMALL_BODY),
    route(async (req, res) => {
      const body = parseWith(RollbackBody, req.body ?? {});
      const tenant = principalOf(req).tenant;
      const list = await models.list(tenant);
      let target = body.modelVersion;
      if (target === undefined) {
        // Default: the newest model older than the active one.
        const activeIdx = list.findIndex((m) => m.active);
        target = activeIdx === -1 ? undefined : list[activeIdx + 1]?.version;
        if (target === undefined) throw new HttpError(409, 'CONFLICT', 'no older model to roll back to');
      }
      if (!(await models.activate(tenant, target))) throw notFound(`no model ${target}`);
      deps.logger.info({ audit: { action: 'risk.model.rollback', who: { tenant, keyName: principalOf(req).keyName }, model: target } }, 'risk model activated');
      res.json({ active: target });
    }),
  );
  app.get(
    '/v1/risk/models/:modelVersion',
    authenticate(keys, 'risk.read'),
    route(async (req, res) => {
      const v = pathParam(req, 'modelVersion', z.string().max(128));
      const m = await models.get(principalOf(req).tenant, v);
      if (m === null) throw notFound(`no model ${v}`);
      res.json(m);
    }),
  );

  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return app;
}

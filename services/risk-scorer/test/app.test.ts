import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Topics, type CatalogEvent } from '@pulsegate/events';
import { score } from '../src/assess/levels';
import { generateHistory } from '../src/model/generator';
import { computeSpecFeatures } from '../src/spec/features';
import type { RiskModel } from '../src/model/logistic';
import { CONNECTOR, makeApp } from './helpers';

const fixture = (name: string): string => readFileSync(join(__dirname, 'fixtures', name), 'utf8');
let ctx: ReturnType<typeof makeApp>;
afterEach(() => ctx?.cleanup());

const SPEC_FEATURES = ['operationsModifiedShare', 'newScopesAdded', 'payloadSizeIncrease', 'breakingChanges'];

describe('health', () => {
  it('answers healthz always and readyz only when ready', async () => {
    ctx = makeApp();
    expect((await ctx.call('get', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await ctx.call('get', '/readyz')).status).toBe(200);
    ctx.setReady(false);
    const r = await ctx.call('get', '/readyz');
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('NOT_READY');
  });
});

describe('catalog', () => {
  it('creates, replaces, lists and versions connectors and publishes each change', async () => {
    ctx = makeApp({ now: () => 1_700_000_000_000 });
    const created = await ctx.call('put', '/v1/catalog/connectors/ContosoSales', { ...CONNECTOR, versions: [{ version: '1.2.0', releasedAt: 1000 }, { version: '1.10.0' }] });
    expect(created.status).toBe(201);
    expect(created.body.versions.map((v: { version: string }) => v.version)).toEqual(['1.2.0', '1.10.0']);
    expect(created.body.versions[1]).toEqual({ version: '1.10.0', releasedAt: null, deprecatedAt: null, sunsetAt: null });
    expect((await ctx.call('put', '/v1/catalog/connectors/ContosoSales', { ...CONNECTOR, versions: [{ version: '1.2.0', releasedAt: 1000 }] })).status).toBe(200);
    const v = await ctx.call('put', '/v1/catalog/connectors/ContosoSales/versions/1.3.0', { releasedAt: 2000, deprecatedAt: null });
    expect(v.status).toBe(200);
    expect(v.body.versions.map((x: { version: string }) => x.version)).toEqual(['1.2.0', '1.3.0']);
    const dep = await ctx.call('put', '/v1/catalog/connectors/ContosoSales/versions/1.2.0', { releasedAt: 1000, deprecatedAt: 3000, sunsetAt: 9000 });
    expect(dep.body.versions[0]).toEqual({ version: '1.2.0', releasedAt: 1000, deprecatedAt: 3000, sunsetAt: 9000 });
    expect((await ctx.call('get', '/v1/catalog/connectors')).body.connectors).toHaveLength(1);
    expect((await ctx.call('get', '/v1/catalog/connectors/ContosoSales')).body).toEqual(dep.body);
    expect((await ctx.call('get', '/v1/catalog/connectors/Nope')).status).toBe(404);
    expect((await ctx.call('put', '/v1/catalog/connectors/Nope/versions/1.0.0', {})).status).toBe(404);

    const events = ctx.bus.recordsIn(Topics.catalog).map((r) => JSON.parse(r.value.toString()) as CatalogEvent);
    expect(events).toHaveLength(4);
    expect(events[3]).toEqual({
      schemaVersion: 1,
      tenant: 'default',
      connector: 'ContosoSales',
      at: 1_700_000_000_000,
      versions: [
        { version: '1.2.0', releasedAt: 1000, deprecatedAt: 3000, sunsetAt: 9000 },
        { version: '1.3.0', releasedAt: 2000, deprecatedAt: null, sunsetAt: null },
      ],
    });
  });

  it('refuses bad input with the field named and stores nothing', async () => {
    ctx = makeApp();
    const bad = async (path: string, body: unknown, field: RegExp, status = 400) => {
      const r = await ctx.call('put', path, body);
      expect(r.status).toBe(status);
      expect(r.body.error.message).toMatch(field);
    };
    await bad('/v1/catalog/connectors/C', { ...CONNECTOR, versions: [{ version: 'v1.2' }] }, /^versions\.0\.version: must be a strict semantic version/);
    await bad('/v1/catalog/connectors/C', { ...CONNECTOR, versions: [{ version: '01.2.3' }] }, /^versions\.0\.version/);
    await bad('/v1/catalog/connectors/C', { ...CONNECTOR, versions: [{ version: '1.0.0' }, { version: '1.0.0' }] }, /^versions\.1\.version: duplicate version 1\.0\.0/);
    await bad('/v1/catalog/connectors/C', { ...CONNECTOR, classification: 'Secret' }, /^classification/);
    await bad('/v1/catalog/connectors/C', { ...CONNECTOR, owner: 42 }, /^owner/);
    await bad('/v1/catalog/connectors/C', { ...CONNECTOR, colour: 'red' }, /unknown field\(s\) "colour"/);
    await bad('/v1/catalog/connectors/C', { ...CONNECTOR, versions: Array.from({ length: 1001 }, (_, i) => ({ version: `1.0.${i}` })) }, /^versions: /);
    await bad('/v1/catalog/connectors/C', '{"owner": ', /could not be read/);
    await bad('/v1/catalog/connectors/C', '[1,2]', /^\(body\)/);
    await bad('/v1/catalog/connectors/C', { ...CONNECTOR, scopes: ['x'.repeat(2_000_000)] }, /size limit/, 413);
    await bad('/v1/catalog/connectors/bad%20name', CONNECTOR, /^connector: /);
    await ctx.call('put', '/v1/catalog/connectors/C', CONNECTOR);
    await bad('/v1/catalog/connectors/C/versions/1.2', {}, /^version: must be a strict semantic version/);
    await bad('/v1/catalog/connectors/C/versions/1.2.0', { releasedAt: 'yesterday' }, /^releasedAt/);
    await bad('/v1/catalog/connectors/C/versions/1.2.0', { releasedAt: -1 }, /^releasedAt/);
    await bad('/v1/catalog/connectors/C/versions/1.2.0', { version: '1.2.0' }, /unknown field/);
    const entry = (await ctx.call('get', '/v1/catalog/connectors/C')).body;
    expect(entry.versions).toEqual([]);
    expect((await ctx.call('get', '/v1/catalog/connectors')).body.connectors).toHaveLength(1);
  });
});

describe('POST /v1/risk/features', () => {
  it('compares the seed specs (JSON and YAML text, or objects)', async () => {
    ctx = makeApp();
    const r = await ctx.call('post', '/v1/risk/features', { oldSpec: fixture('contoso-sales-1.0.0.json'), newSpec: fixture('contoso-sales-1.1.0.yaml') });
    expect(r.status).toBe(200);
    expect(r.body).toEqual(computeSpecFeatures(fixture('contoso-sales-1.0.0.json'), fixture('contoso-sales-1.1.0.yaml')));
    const objects = await ctx.call('post', '/v1/risk/features', { oldSpec: JSON.parse(fixture('contoso-sales-1.0.0.json')), newSpec: JSON.parse(fixture('contoso-sales-2.0.0.json')) });
    expect(objects.body.features.breakingChanges).toBe(6);
  });

  it('applies tenant overrides, then the request\'s; unknown rules are 400', async () => {
    ctx = makeApp({ keys: true, ruleOverrides: { 'tenant-a': { 'operation-removed': 'warning', 'request-enum-narrowed': 'off' } } });
    const pair = { oldSpec: fixture('contoso-sales-1.0.0.json'), newSpec: fixture('contoso-sales-2.0.0.json') };
    const rules = (body: { findings: Array<{ rule: string; severity: string }> }) => Object.fromEntries(body.findings.map((f) => [f.rule, f.severity]));
    const a = await ctx.call('post', '/v1/risk/features', pair, { 'x-api-key': 'key-a' });
    expect(rules(a.body)).toMatchObject({ 'operation-removed': 'warning' });
    expect(rules(a.body)['request-enum-narrowed']).toBeUndefined();
    expect(a.body.features.breakingChanges).toBe(4);
    const b = await ctx.call('post', '/v1/risk/features', pair, { 'x-api-key': 'key-b' });
    expect(rules(b.body)).toMatchObject({ 'operation-removed': 'error', 'request-enum-narrowed': 'error' });
    const run = await ctx.call('post', '/v1/risk/features', { ...pair, overrides: { 'operation-removed': 'error' } }, { 'x-api-key': 'key-a' });
    expect(rules(run.body)['operation-removed']).toBe('error');
    const bad = await ctx.call('post', '/v1/risk/features', { ...pair, overrides: { nope: 'off' } }, { 'x-api-key': 'key-a' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('overrides: unknown rule "nope"');
  });

  it('answers hostile specs: reference fan-out is analysed, over-deep documents get 422 SPEC_TOO_COMPLEX', async () => {
    ctx = makeApp();
    const schemas: Record<string, unknown> = {};
    for (let i = 0; i < 24; i++) schemas[`S${i}`] = { type: 'object', properties: { a: { $ref: `#/components/schemas/S${(i + 1) % 24}` }, b: { $ref: `#/components/schemas/S${(i + 1) % 24}` } } };
    const spec = { openapi: '3.1.0', info: { title: 'x', version: '1' }, paths: { '/x': { get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/S0' } } } } } } } }, components: { schemas } };
    const ok = await ctx.call('post', '/v1/risk/features', { oldSpec: JSON.stringify(spec), newSpec: spec });
    expect(ok.status).toBe(200);
    expect(ok.body.findings).toEqual([]);
    const deep = '{"openapi":"3.1.0","x":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
    const r = await ctx.call('post', '/v1/risk/features', { oldSpec: spec, newSpec: deep });
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({ code: 'SPEC_TOO_COMPLEX', message: 'newSpec: document nests deeper than 64 levels' });
  });

  it('names the broken document and refuses partial bodies', async () => {
    ctx = makeApp();
    const r = await ctx.call('post', '/v1/risk/features', { oldSpec: fixture('contoso-sales-1.0.0.json'), newSpec: 'openapi: [' });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/^newSpec: not valid JSON or YAML/);
    expect((await ctx.call('post', '/v1/risk/features', { oldSpec: '{}' })).body.error.message).toMatch(/^newSpec/);
    expect((await ctx.call('post', '/v1/risk/features', { oldSpec: 1, newSpec: 2 })).status).toBe(400);
    expect((await ctx.call('post', '/v1/risk/features', { oldSpec: '{}', newSpec: '{}', extra: true })).body.error.message).toMatch(/unknown field/);
    expect((await ctx.call('post', '/v1/risk/features', '{"oldSpec":')).status).toBe(400);
    expect((await ctx.call('post', '/v1/risk/features')).status).toBe(400);
  });
});

describe('model training and rollback', () => {
  it('trains, lists, fetches and rolls back models; refuses unusable data', async () => {
    let t = 1_700_000_000_000;
    ctx = makeApp({ now: () => (t += 1000) });
    const history = generateHistory({ records: 1500, seed: 3 });
    const first = await ctx.call('post', '/v1/risk/model:train', { records: history.records, seed: 2 });
    expect(first.status).toBe(201);
    expect(first.body.records).toEqual({ fromRequest: 1500, fromReleaseHistory: 0 });
    expect(first.body.model.metrics.trainRecords + first.body.model.metrics.testRecords).toBe(1500);
    expect(first.body.model.metrics.auc).toBeGreaterThan(0.6);
    const second = await ctx.call('post', '/v1/risk/model:train', { records: history.records.slice(0, 800), features: SPEC_FEATURES });
    expect(second.body.model.features).toEqual(SPEC_FEATURES);
    const list = (await ctx.call('get', '/v1/risk/models')).body.models as Array<{ version: string; active: boolean }>;
    expect(list.map((m) => [m.version, m.active])).toEqual([
      [second.body.model.version, true],
      [first.body.model.version, false],
    ]);
    const got = await ctx.call('get', `/v1/risk/models/${first.body.model.version}`);
    expect(got.body).toEqual(first.body.model);
    expect((await ctx.call('post', '/v1/risk/models:rollback', {})).body).toEqual({ active: first.body.model.version });
    expect((await ctx.call('post', '/v1/risk/models:rollback', {})).status).toBe(409);
    expect((await ctx.call('post', '/v1/risk/models:rollback', { modelVersion: second.body.model.version })).body).toEqual({ active: second.body.model.version });
    expect((await ctx.call('post', '/v1/risk/models:rollback', { modelVersion: 'm-nope' })).status).toBe(404);
    expect((await ctx.call('get', '/v1/risk/models/..%2F..%2Fetc')).status).toBe(404);

    const bad = async (body: unknown, message: RegExp, status = 400) => {
      const r = await ctx.call('post', '/v1/risk/model:train', body);
      expect(r.status).toBe(status);
      expect(r.body.error.message).toMatch(message);
    };
    await bad({ records: history.records.filter((r) => r.incident) }, /^records: need at least 2 releases with and 2 without an incident/);
    await bad({ records: [...history.records.slice(0, 10), { features: { ...history.records[0]!.features, lintWarnings: null }, incident: true }] }, /^records\[10\]\.features\.lintWarnings: is missing/);
    await bad('{"records":[{"features":{"lintWarnings":NaN},"incident":true}]}', /could not be read/);
    await bad({ records: [{ features: { lintWarnings: 'NaN' }, incident: true }] }, /^records\[0\]\.features\.lintWarnings: must be a finite number/);
    await bad({ records: history.records.slice(0, 10), features: ['bogus'] }, /^features: unknown feature "bogus"/);
    await bad({ records: history.records.slice(0, 10), testShare: 1.5 }, /^testShare/);
    await bad({ records: history.records.slice(0, 10), learningRate: 1 }, /unknown field\(s\) "learningRate"/);
    await bad({}, /^records: no training records given and no release history received/);
    await bad({ records: new Array(200_001).fill(0) }, /^records: /);
    await bad({ records: 'all of them' }, /^records/);
    expect((await ctx.call('get', '/v1/risk/models')).body.models).toHaveLength(2);
  });

  it('trains from the release history received on the releases topic', async () => {
    ctx = makeApp();
    const history = generateHistory({ records: 400, seed: 8 });
    await ctx.store.appendReleases(
      'default',
      history.records.map((r, i) => ({ connector: 'C', version: `1.0.${i}`, features: r.features, incident: r.incident, at: i })),
    );
    const r = await ctx.call('post', '/v1/risk/model:train', {});
    expect(r.status).toBe(201);
    expect(r.body.records).toEqual({ fromRequest: 0, fromReleaseHistory: 400 });
  });
});

describe('assessments', () => {
  const features = { lintWarnings: 2, operationsModifiedShare: 0.5, newScopesAdded: 1, payloadSizeIncrease: 0.1, breakingChanges: 3, priorIncidentRate: 0.2, priorSuccessRate: 0.995, priorP95Ms: 420, priorThrottleRate: 0.004, priorAlertsPer1000Calls: 0.1 };

  it('fails closed without a model, and scores, stores, publishes and audits with one', async () => {
    ctx = makeApp({ now: () => 1_700_000_000_000 });
    expect((await ctx.call('post', '/v1/risk/assessments', { connector: 'ContosoSales', version: '1.3.0', features })).status).toBe(404);
    await ctx.call('put', '/v1/catalog/connectors/ContosoSales', { ...CONNECTOR, versions: [{ version: '1.2.0' }] });

    const none = await ctx.call('post', '/v1/risk/assessments', { connector: 'ContosoSales', version: '1.3.0', features });
    expect(none.status).toBe(201);
    expect(none.body).toMatchObject({ probability: null, level: 'unknown', decision: 'require-approval', modelVersion: null, previousVersion: '1.2.0' });
    expect(none.body.reasons[0].note).toMatch(/no trained risk model/);

    const trained = await ctx.call('post', '/v1/risk/model:train', { records: generateHistory({ records: 1500, seed: 4 }).records });
    const model = trained.body.model as RiskModel;
    const r = await ctx.call('post', '/v1/risk/assessments', { connector: 'ContosoSales', version: '1.3.0', features });
    expect(r.status).toBe(201);
    const expected = score(model, features);
    expect(r.body.probability).toBeCloseTo(expected.probability!, 12);
    expect(r.body).toMatchObject({ connector: 'ContosoSales', version: '1.3.0', previousVersion: '1.2.0', level: expected.level, decision: expected.decision, modelVersion: model.version, missing: [], assessedBy: { tenant: 'default', keyName: 'anonymous' } });
    expect(r.body.reasons.map((x: { feature: string }) => x.feature)).toEqual(expected.reasons.map((x) => x.feature));
    expect((await ctx.call('get', '/v1/risk/assessments/ContosoSales/1.3.0')).body).toEqual(r.body);
    expect((await ctx.call('get', '/v1/risk/assessments/ContosoSales/9.9.9')).status).toBe(404);

    const published = ctx.bus.recordsIn(Topics.risk).map((x) => JSON.parse(x.value.toString()) as Record<string, unknown>);
    expect(published).toHaveLength(2);
    expect(published[1]).toEqual({ schemaVersion: 1, tenant: 'default', ...r.body });
    const audit = ctx.lines.filter((l) => (l.audit as { action?: string } | undefined)?.action === 'risk.assessment');
    expect(audit).toHaveLength(2);
    expect(audit[1]!.audit).toEqual({
      action: 'risk.assessment',
      who: { tenant: 'default', keyName: 'anonymous' },
      at: new Date(1_700_000_000_000).toISOString(),
      inputs: { connector: 'ContosoSales', version: '1.3.0', features },
      answer: { probability: r.body.probability, level: r.body.level, decision: r.body.decision, modelVersion: model.version, missing: [] },
    });
  });

  it('missing features or telemetry make the level unknown with the reason', async () => {
    ctx = makeApp();
    await ctx.call('put', '/v1/catalog/connectors/C', { ...CONNECTOR, versions: [{ version: '1.0.0' }] });
    await ctx.call('post', '/v1/risk/model:train', { records: generateHistory({ records: 600, seed: 5 }).records });
    const { priorSuccessRate: _a, priorP95Ms: _b, priorThrottleRate: _c, priorAlertsPer1000Calls: _d, lintWarnings: _e, ...partial } = features;
    const r = await ctx.call('post', '/v1/risk/assessments', { connector: 'C', version: '1.1.0', features: partial });
    expect(r.body).toMatchObject({ level: 'unknown', decision: 'require-approval', probability: null, missing: ['lintWarnings', 'priorSuccessRate', 'priorP95Ms', 'priorThrottleRate', 'priorAlertsPer1000Calls'] });
    expect(r.body.reasons.find((x: { feature: string }) => x.feature === 'priorP95Ms').note).toBe('telemetry of the prior version is not available (no metrics received for C 1.0.0)');
    expect(r.body.reasons.find((x: { feature: string }) => x.feature === 'lintWarnings').note).toBe('feature not supplied');
    const first = await ctx.call('post', '/v1/risk/assessments', { connector: 'C', version: '0.9.0', features: partial });
    expect(first.body.reasons.find((x: { feature: string }) => x.feature === 'priorP95Ms').note).toMatch(/no previous version given or in the catalog/);
  });

  it('refuses bad input', async () => {
    ctx = makeApp();
    await ctx.call('put', '/v1/catalog/connectors/C', CONNECTOR);
    const bad = async (body: unknown, message: RegExp) => {
      const r = await ctx.call('post', '/v1/risk/assessments', body);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toMatch(message);
    };
    await bad({ connector: 'C', version: '1.2' }, /^version: must be a strict semantic version/);
    await bad({ connector: 'C', version: '1.2.0', previousVersion: 'latest' }, /^previousVersion: must be a strict semantic version/);
    await bad({ connector: 'C', version: '1.2.0', features: { breakingChanges: '3' } }, /^features\.breakingChanges/);
    await bad({ connector: 'C', version: '1.2.0', features: { vibes: 3 } }, /^features\.vibes: unknown feature/);
    await bad({ connector: 'C', version: '1.2.0', features: [1, 2] }, /^features/);
    await bad({ connector: 'C', version: '1.2.0', force: true }, /unknown field\(s\) "force"/);
    await bad({ version: '1.2.0' }, /^connector/);
    await bad('{"connector":"C",', /could not be read/);
    await bad('"C"', /could not be read|\(body\)/);
    await bad({ connector: 'C', version: '1.2.0', features: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, i])) }, /^features: at most 64 features/);
    expect((await ctx.call('get', '/v1/risk/assessments/C/latest')).status).toBe(400);
    expect(ctx.bus.recordsIn(Topics.risk)).toHaveLength(0);
  });
});

describe('authentication and tenants', () => {
  it('requires a key with the scope and keeps tenants apart', async () => {
    ctx = makeApp({ keys: true });
    const a = { authorization: 'Bearer key-a' };
    const b = { 'x-api-key': 'key-b' };
    expect((await ctx.call('get', '/v1/catalog/connectors')).status).toBe(401);
    expect((await ctx.call('get', '/v1/catalog/connectors', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await ctx.call('put', '/v1/catalog/connectors/C', CONNECTOR, { 'x-api-key': 'key-a-read' })).status).toBe(403);
    expect((await ctx.call('put', '/v1/catalog/connectors/C', CONNECTOR, a)).status).toBe(201);
    expect((await ctx.call('get', '/v1/catalog/connectors/C', undefined, b)).status).toBe(404);
    expect((await ctx.call('get', '/v1/catalog/connectors', undefined, b)).body.connectors).toEqual([]);
    await ctx.call('post', '/v1/risk/model:train', { records: generateHistory({ records: 300, seed: 1 }).records }, a);
    expect((await ctx.call('get', '/v1/risk/models', undefined, b)).body.models).toEqual([]);
    const r = await ctx.call('post', '/v1/risk/assessments', { connector: 'C', version: '1.0.0' }, a);
    expect(r.body.assessedBy).toEqual({ tenant: 'tenant-a', keyName: 'ci-a' });
    expect((await ctx.call('post', '/v1/risk/assessments', { connector: 'C', version: '1.0.0' }, { 'x-api-key': 'key-a-read' })).status).toBe(403);
    expect((await ctx.call('get', '/v1/risk/assessments/C/1.0.0', undefined, { 'x-api-key': 'key-a-read' })).status).toBe(200);
    expect((await ctx.call('get', '/v1/risk/assessments/C/1.0.0', undefined, b)).status).toBe(404);
    expect((await ctx.call('post', '/v1/risk/model:train', {}, { 'x-api-key': 'key-a-read' })).status).toBe(403);
  });
});
